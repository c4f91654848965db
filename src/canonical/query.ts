/**
 * The query of a request as Orthanc reads it (HttpToolbox::ParseGetArguments): split on `&` only,
 * kept in order, repeats kept, the last of a repeated parameter winning in the plugins. Orthanc 1.10
 * passes names and values on undecoded, later versions URL-decode them (`+` a space): the gateway
 * decodes values, refuses whatever the two readings (or another server) could take differently — a
 * `;`, a malformed or non-UTF-8 escape, any escape or `+` in a name — and serializes so that both
 * readings agree on every value a stage decides on (serializeQuery).
 */
export interface QueryParameter {
  readonly name: string;
  readonly value: string;
}

export type Query = readonly QueryParameter[];

export type ParsedQuery = { ok: true; query: Query } | { ok: false; reason: string };

/** Letters, digits, `.`, `_` and `-`: what every name Orthanc, its plugins and OHIF use is made of. */
const PLAIN_NAME = /^[A-Za-z0-9._-]+$/;
const MALFORMED_ESCAPE = /%(?![0-9A-Fa-f]{2})/;

function decodeValue(raw: string): string | undefined {
  if (MALFORMED_ESCAPE.test(raw)) return undefined;
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return undefined; // not UTF-8 once decoded
  }
}

function parsePair(pair: string): QueryParameter | string {
  const equals = pair.indexOf('=');
  const name = equals === -1 ? pair : pair.slice(0, equals);
  const rawValue = equals === -1 ? '' : pair.slice(equals + 1);
  if (!PLAIN_NAME.test(name)) return `query parameter name ${JSON.stringify(name.slice(0, 64))} must be plain letters, digits, ".", "_" or "-" (no encoding)`;
  const value = decodeValue(rawValue);
  if (value === undefined) return `query parameter "${name}" has a malformed percent-encoding`;
  if (value.includes('\u0000')) return `query parameter "${name}" holds a NUL character`;
  return { name, value };
}

/** Parses the raw query string (without `?`). Empty pairs (`a=1&&b=2`, a trailing `&`) carry nothing and are dropped. */
export function parseQuery(raw: string): ParsedQuery {
  if (raw.includes(';')) return { ok: false, reason: '";" is not allowed in the query string' };
  const query: QueryParameter[] = [];
  for (const pair of raw.split('&')) {
    if (pair === '') continue;
    const parsed = parsePair(pair);
    if (typeof parsed === 'string') return { ok: false, reason: parsed };
    query.push(parsed);
  }
  return { ok: true, query };
}

/**
 * Characters of a value that are escaped on the way to Orthanc: separators, `%` and `+` (which a
 * decoding reader would change), `#`, quotes and brackets, spaces, controls and anything not ASCII.
 * Everything else goes as is, because Orthanc 1.10 hands its plugins the query *undecoded* (seen
 * with the real Orthanc: `PatientID=%62` searches for the text "%62"), while later versions decode
 * it: a value written without escapes reads the same to both. Every value a stage decides on (UIDs,
 * limit, offset, includefield, requestType) is made only of such characters (parameter-rules.ts).
 */
const ESCAPED_IN_VALUES = /[^\x21-\x7e]|[%&+#;"<>`{}|]/gu;

const encodeValue = (value: string) => value.replace(ESCAPED_IN_VALUES, (character) => encodeURIComponent(character));

/** The canonical encoding sent to Orthanc: names as they are (plain), values as encodeValue writes them; no `=` for an empty value. */
export function serializeQuery(query: Query): string {
  return query.map(({ name, value }) => (value === '' ? name : `${name}=${encodeValue(value)}`)).join('&');
}

/** The values of the parameter with exactly this name, in order. */
export const valuesOf = (query: Query, name: string): string[] => query.filter((parameter) => parameter.name === name).map(({ value }) => value);

/** The value of a parameter given exactly once; undefined when it is absent or repeated. */
export function onlyValue(query: Query, name: string): string | undefined {
  const values = valuesOf(query, name);
  return values.length === 1 ? values[0] : undefined;
}

/** The query without the parameters `drop` selects. */
export const without = (query: Query, drop: (name: string) => boolean): Query => query.filter(({ name }) => !drop(name));

/** The query with `parameters` appended at the end. */
export const appended = (query: Query, ...parameters: QueryParameter[]): Query => [...query, ...parameters];
