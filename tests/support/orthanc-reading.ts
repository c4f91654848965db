import { findBlockedEndpoint } from '../../src/policy/blocked.js';
import type { RouteClass } from '../../src/policy/routes.js';
import type { RecordedRequest } from './recording-proxy.js';

/**
 * How Orthanc 1.10.1 + DICOMweb plugin 1.7 (Debian, the versions the suites run) read a request,
 * re-implemented on the test side: the differential harness compares this reading of what Orthanc
 * received with what the gateway's policy decided on. Every rule names its source; "measured" rules
 * are checked against the real Orthanc by tests/security/orthanc-reading.test.ts.
 * Sources: OrthancFramework/Sources/HttpServer/HttpServer.cpp and HttpToolbox.cpp (orthanc-server),
 * Plugin/QidoRs.cpp and Plugin/WadoUri.cpp (orthanc-dicomweb).
 */

/**
 * The method Orthanc executes. 'HEAD': Orthanc 1.10.1 runs no handler for HEAD (InternalCallback
 * takes it for a read-only WebDAV request, 404 without a bucket: measured). 'INVALID': a
 * `_method` or override header naming neither PUT nor DELETE (ExtractMethod returns false: 400).
 */
export type OrthancMethod = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'HEAD' | 'INVALID';

export interface OrthancUids {
  studyUid?: string;
  seriesUid?: string;
  instanceUid?: string;
}

/**
 * The UIDs of the resources Orthanc acts on (an instance's study and series included, from the
 * catalogue); `named` holds those the request itself names as Orthanc reads it.
 */
export interface OrthancReading extends OrthancUids {
  named: OrthancUids;
  method: OrthancMethod;
  /** The path Orthanc routes on (decoded, `\` as `/`, empty and dot segments resolved). */
  path: string;
  /** GET arguments in order, as Orthanc parses them (only for a GET). */
  arguments: Array<[string, string]>;
  /** The Orthanc instance id of a preview. */
  orthancId?: string;
}

/** Where the test's fixture instances live, to follow an instance reference to its study. */
export interface Catalogue {
  byInstanceUid(uid: string): { studyUid: string; seriesUid: string } | undefined;
  byOrthancId(id: string): { studyUid: string; seriesUid: string; instanceUid: string } | undefined;
}

/**
 * HttpToolbox::ParseGetArguments: split on '&' only (`;` is part of a value), name and value at
 * the first '='. Since Orthanc 1.9.8 SplitGETNameValue no longer URL-decodes, and civetweb hands
 * the raw query string over: `PatientID=P%41` matches nothing, `%50atientID` is an unknown name,
 * `+` stays a plus (all measured).
 */
export function orthancArguments(query: string): Array<[string, string]> {
  return query.split('&').map((part) => {
    const equal = part.indexOf('=');
    return equal === -1 ? [part, ''] : [part.slice(0, equal), part.slice(equal + 1)];
  });
}

/**
 * civetweb decodes the path before Orthanc sees it (mg_url_decode, `%2F` included), turns `\` into
 * `/` and removes dot segments and empty segments (measured: `/dicom-web%2Fstudies`,
 * `/dicom-web\studies`, `/dicom-web//studies` and `/x/../studies` all reach `/dicom-web/studies`).
 * A trailing slash stays (`/dicom-web/studies/` is logged with it) but routes like without. The
 * decoded path is a C string: it ends at an encoded NUL (`/system%00x` is `/system`, measured); an
 * encoded `?` or `#` stays part of the path (`/system%3Fx` is the unknown `/system?x`, measured).
 */
export function orthancPath(rawPath: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    decoded = rawPath;
  }
  decoded = decoded.split('\u0000')[0]!;
  const segments: string[] = [];
  const parts = decoded.replace(/\\/g, '/').split('/');
  for (const [index, part] of parts.entries()) {
    if (part === '..') segments.pop();
    else if (part !== '.' && (part !== '' || index === parts.length - 1)) segments.push(part);
  }
  return `/${segments.join('/')}`;
}

/**
 * HttpServer.cpp, ExtractMethod: an `x-http-method-override` header (any method; header names are
 * lower-cased first) wins; else for a GET the FIRST argument named exactly `_method` (GET arguments
 * are parsed for GET only). An empty value is no override; the value is upper-cased and must be PUT
 * or DELETE, anything else is refused with 400. `X-HTTP-Method`, `X-Method-Override`, `_METHOD`
 * and `%5Fmethod` are not overrides (measured).
 */
function orthancMethod(record: Pick<RecordedRequest, 'method' | 'headers'>, args: Array<[string, string]>): OrthancMethod {
  const header = record.headers['x-http-method-override']?.[0];
  const fromQuery = record.method === 'GET' ? args.find(([name]) => name === '_method')?.[1] : undefined;
  const override = header ?? fromQuery ?? '';
  if (override !== '') {
    const upper = override.toUpperCase();
    return upper === 'PUT' || upper === 'DELETE' ? upper : 'INVALID';
  }
  if (record.method === 'HEAD') return 'HEAD';
  return (['GET', 'POST', 'PUT', 'DELETE'] as const).find((method) => method === record.method) ?? 'INVALID';
}

/** The last value of an argument of exactly this name (Orthanc's maps keep the last assignment). */
const lastValue = (args: Array<[string, string]>, name: string) => args.filter(([key]) => key === name).at(-1)?.[1];

/**
 * OrthancPlugins::ParseTag as the QIDO-RS matcher uses it (QidoRs.cpp, ModuleMatcher): a keyword of
 * the DICOM dictionary, exact case (`patientid` is ignored, measured), or a tag as `ggggeeee` or
 * `gggg,eeee` (measured). Only the three UID attributes matter here.
 */
const UID_TAGS: Record<keyof OrthancUids, { keyword: string; tag: string }> = {
  studyUid: { keyword: 'StudyInstanceUID', tag: '0020000d' },
  seriesUid: { keyword: 'SeriesInstanceUID', tag: '0020000e' },
  instanceUid: { keyword: 'SOPInstanceUID', tag: '00080018' },
};
const namesTag = (name: string, { keyword, tag }: { keyword: string; tag: string }) =>
  name === keyword || name.replace(',', '').toLowerCase() === tag && /^[0-9a-fA-F]{4},?[0-9a-fA-F]{4}$/.test(name);

/**
 * QIDO-RS filters: each filter argument assigns `filters_[tag]` (the LAST one wins, measured with
 * PatientID=PA&PatientID=PB), and the study/series of the path are assigned after the arguments
 * (SearchForSeries/SearchForInstances), so the path wins. An empty value matches everything. The
 * matcher first removes every backslash from the value (`boost::replace_all(value, "\\", "")`,
 * measured: `1.2\3` searches for `1.23`), then reads commas as a list.
 */
function qidoUids(pathUids: OrthancUids, args: Array<[string, string]>): OrthancUids {
  const uids: OrthancUids = {};
  for (const key of Object.keys(UID_TAGS) as Array<keyof OrthancUids>) {
    const value = args.filter(([name]) => namesTag(name, UID_TAGS[key])).at(-1)?.[1]?.replace(/\\/g, '');
    const chosen = pathUids[key] ?? (value === '' ? undefined : value);
    if (chosen !== undefined) uids[key] = chosen;
  }
  return uids;
}

/**
 * WADO-URI (WadoUri.cpp, LocateInstanceWadoUri): every argument assigns its variable, so the LAST
 * `studyUID`/`seriesUID`/`objectUID` wins (exact names). The instance is the objectUID's (empty →
 * 404); `studyUID` and `seriesUID` are only checked against it, and an empty one is not checked
 * (measured: `studyUID=&objectUID=<other study's>` serves the instance). So the study acted on is
 * the instance's own.
 */
function wadoUriUids(args: Array<[string, string]>, catalogue: Catalogue): Pick<OrthancReading, 'named' | keyof OrthancUids> {
  const instanceUid = lastValue(args, 'objectUID');
  if (!instanceUid) return { named: {} };
  const studyUid = lastValue(args, 'studyUID');
  const seriesUid = lastValue(args, 'seriesUID');
  const named = { instanceUid, ...(studyUid ? { studyUid } : {}), ...(seriesUid ? { seriesUid } : {}) };
  return { named, ...catalogue.byInstanceUid(instanceUid), ...named };
}

function dicomwebPathUids(segments: string[]): OrthancUids {
  const [level, study, , series, , instance] = segments;
  if (level !== 'studies' || !study) return {};
  return { studyUid: study, ...(series ? { seriesUid: series } : {}), ...(instance ? { instanceUid: instance } : {}) };
}

const SEARCH_LEVELS = new Set(['studies', 'series', 'instances']);
const PREVIEW = /^\/instances\/([^/]+)(\/frames\/[0-9]+)?\/preview\/?$/;

/** What Orthanc executes for a recorded request: method, path, arguments and the UIDs it acts on. */
export function readAsOrthanc(record: Pick<RecordedRequest, 'method' | 'path' | 'query' | 'headers'>, catalogue: Catalogue): OrthancReading {
  const args = record.method === 'GET' ? orthancArguments(record.query) : [];
  const method = orthancMethod(record, args);
  const path = orthancPath(record.path);
  const reading: OrthancReading = { method, path, arguments: args, named: {} };
  const segments = path.split('/').filter(Boolean);
  if (segments[0] === 'dicom-web') {
    const pathUids = dicomwebPathUids(segments.slice(1));
    const isSearch = SEARCH_LEVELS.has(segments.at(-1) ?? '');
    const named = isSearch && method === 'GET' ? qidoUids(pathUids, args) : pathUids;
    return { ...reading, named, ...named };
  }
  if (path === '/wado' || path === '/wado/') return { ...reading, ...(method === 'GET' ? wadoUriUids(args, catalogue) : {}) };
  const preview = PREVIEW.exec(path);
  if (preview) return { ...reading, orthancId: preview[1]!, ...catalogue.byOrthancId(preview[1]!) };
  return reading;
}

const STORE_PATH = /^\/dicom-web\/studies(\/[^/]+)?\/?$/;
const isRead = (method: OrthancMethod) => method === 'GET' || method === 'HEAD';

/**
 * The gateway's route class for what Orthanc executes, seen from the prefix the client used: under
 * /pacs-admin everything is `admin` unless the gateway's blocked list (src/policy/blocked.ts, the
 * policy's own table) names it; under /pacs the shape of Orthanc's path and method decides, and
 * anything else (a DELETE, an Orthanc REST path) is `admin`, which /pacs never allows.
 */
export function orthancRouteClass(reading: Pick<OrthancReading, 'method' | 'path'>, prefix: '/pacs' | '/pacs-admin'): RouteClass {
  const { method, path } = reading;
  if (prefix === '/pacs-admin') return findBlockedEndpoint(method, path) ? 'admin-blocked' : 'admin';
  if (path.startsWith('/dicom-web/')) {
    if (isRead(method)) return 'dicomweb-read';
    if (method === 'POST' && STORE_PATH.test(path)) return 'dicomweb-store';
    return 'admin';
  }
  if ((path === '/wado' || path === '/wado/') && isRead(method)) return 'wado-uri';
  if (PREVIEW.test(path) && isRead(method)) return 'preview';
  return 'admin';
}
