/**
 * Request-target hygiene. A path is accepted only when it has exactly one meaning: no dot segments,
 * no encoded slashes/dots/backslashes/percent signs (double encoding), no `;` parameters, no NUL or
 * control characters, no empty segments. What passes is re-encoded canonically, so the path the
 * policy classified is byte for byte the path Orthanc receives.
 */
export type NormalizedTarget =
  | { ok: true; segments: string[]; path: string; query: string }
  | { ok: false; reason: string };

const ALLOWED_RAW_PATH = /^\/[A-Za-z0-9\-._~!$&'()*+,=:@%/]*$/;
const FORBIDDEN_DECODED = /[/\\.%;\u0000-\u001f\u007f]/;
const PERCENT_ESCAPE = /%([0-9A-Fa-f]{2})?/g;
const SUB_DELIMS_KEPT = /%(24|26|2B|2C|3D|3A|40|21|27|28|29|2A)/g;
/** Characters encodeSegment leaves as they are: unreserved, and the sub-delimiters it keeps. */
const CANONICAL_SEGMENT = /^[A-Za-z0-9\-._~!$&'()*+,=:@]*$/;
const MAX_TARGET_LENGTH = 8192;

function rejectedEscape(path: string): string | undefined {
  for (const match of path.matchAll(PERCENT_ESCAPE)) {
    if (!match[1]) return 'malformed percent-encoding';
    const decoded = String.fromCharCode(parseInt(match[1], 16));
    if (FORBIDDEN_DECODED.test(decoded)) return `encoded "${match[0]}" is not allowed in paths`;
  }
  return undefined;
}

function decodeSegment(segment: string): string | undefined {
  if (!segment.includes('%')) return segment; // what decodeURIComponent would return, without its try/catch
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** Percent-encodes one decoded segment, keeping the sub-delimiters Orthanc paths may carry readable. */
export function encodeSegment(segment: string): string {
  if (CANONICAL_SEGMENT.test(segment)) return segment; // what the encoding below would give back
  return encodeURIComponent(segment).replace(SUB_DELIMS_KEPT, (escape) => decodeURIComponent(escape));
}

function checkQuery(query: string): string | undefined {
  if (/%00/.test(query)) return 'NUL in the query string';
  if (/(^|&)access_token=/i.test(query)) return 'access tokens are not accepted in the URL; send an Authorization: Bearer header';
  return undefined;
}

export function normalizeTarget(target: string): NormalizedTarget {
  if (target.length > MAX_TARGET_LENGTH) return { ok: false, reason: 'request target too long' };
  const queryStart = target.indexOf('?');
  const rawPath = queryStart === -1 ? target : target.slice(0, queryStart);
  const query = queryStart === -1 ? '' : target.slice(queryStart + 1);

  if (!ALLOWED_RAW_PATH.test(rawPath)) return { ok: false, reason: 'path must be an origin-form path of plain characters' };
  const escapeProblem = rawPath.includes('%') ? rejectedEscape(rawPath) : undefined;
  if (escapeProblem) return { ok: false, reason: escapeProblem };
  const queryProblem = checkQuery(query);
  if (queryProblem) return { ok: false, reason: queryProblem };

  const segments = rawPath.slice(1).split('/');
  const last = segments.length - 1;
  for (let index = 0; index <= last; index++) {
    const raw = segments[index]!;
    if (raw === '' && index !== last) return { ok: false, reason: 'empty path segment' };
    if (raw === '.' || raw === '..') return { ok: false, reason: 'dot segments are not allowed' };
    const decoded = decodeSegment(raw);
    if (decoded === undefined) return { ok: false, reason: 'malformed percent-encoding' };
    segments[index] = decoded;
  }
  // Without a percent sign every segment is its own canonical form (encodeSegment keeps every other allowed character).
  const path = rawPath.includes('%') ? `/${segments.map(encodeSegment).join('/')}` : rawPath;
  return { ok: true, segments, path, query };
}
