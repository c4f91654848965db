import { findBlockedEndpoint, type BlockedMatch } from './blocked.js';
import { encodeSegment } from './normalize.js';
import { onlyValue, type Query } from '../canonical/query.js';

/** What a request is, as far as authorization cares. */
export type RouteClass = 'dicomweb-read' | 'dicomweb-store' | 'wado-uri' | 'preview' | 'admin' | 'admin-blocked';

/**
 * Where SMART App Launch puts its discovery document: under the base URL of the protected endpoint
 * (DICOMweb). Answered by the gateway itself, never an Orthanc route.
 */
export const SMART_CONFIGURATION_PATH = '/pacs/dicom-web/.well-known/smart-configuration';

export interface Route {
  class: RouteClass;
  /** The public prefix the route lives under. */
  prefix: '/pacs' | '/pacs-admin';
  /** Canonical path to request from Orthanc (query not included). */
  upstreamPath: string;
  /** DICOM UIDs named in the path, for audit and per-study decisions. */
  studyUid?: string;
  seriesUid?: string;
  instanceUid?: string;
  /** The Orthanc instance id of a preview route. */
  orthancId?: string;
  /** The blocked-endpoint rule an admin request falls under (see blocked.ts). */
  blocked?: BlockedMatch;
}

export type Classification =
  | { kind: 'route'; route: Route }
  | { kind: 'not-gateway' }
  | { kind: 'not-found' }
  | { kind: 'method-not-allowed'; allowed: string[] };

const UID = /^[0-9]+(\.[0-9]+)*$/;
const ORTHANC_ID = /^[0-9a-f]{8}(-[0-9a-f]{8}){4}$/;
const FRAME_LIST = /^[1-9][0-9]*(,[1-9][0-9]*)*$/;
const FRAME_NUMBER = /^[0-9]+$/;
const BULK_PART = /^([0-9A-Fa-f]{8}|[0-9]+)$/;
const RESOURCE_RENDITIONS = new Set(['metadata', 'rendered', 'thumbnail']);
const READ_METHODS = ['GET', 'HEAD'];
const STORE_METHODS = ['GET', 'HEAD', 'POST'];

const isUid = (value: string | undefined): value is string => value !== undefined && value.length <= 64 && UID.test(value);

interface DicomwebMatch {
  methods: string[];
  studyUid?: string;
  seriesUid?: string;
  instanceUid?: string;
}

/** Matches the tail of an instance path: nothing, a rendition, frames, or bulk data. */
function instanceTailMatches(tail: string[]): boolean {
  const [first, second, third] = tail;
  if (first === undefined) return true;
  if (second === undefined) return RESOURCE_RENDITIONS.has(first);
  if (first === 'bulk') return tail.slice(1).every((part) => BULK_PART.test(part));
  if (first !== 'frames' || !FRAME_LIST.test(second)) return false;
  return third === undefined || (tail.length === 3 && (third === 'rendered' || third === 'thumbnail'));
}

/** QIDO-RS, WADO-RS and STOW-RS resources under /dicom-web; anything else is unknown. */
function matchDicomweb(parts: string[]): DicomwebMatch | undefined {
  const [level, study, sub, series, sub2, instance, ...tail] = parts;
  if (parts.length === 1 && (level === 'series' || level === 'instances')) return { methods: READ_METHODS };
  if (level !== 'studies') return undefined;
  if (parts.length === 1) return { methods: STORE_METHODS };
  if (!isUid(study)) return undefined;
  if (parts.length === 2) return { methods: STORE_METHODS, studyUid: study };
  if (parts.length === 3) {
    return RESOURCE_RENDITIONS.has(sub!) || sub === 'series' || sub === 'instances'
      ? { methods: READ_METHODS, studyUid: study }
      : undefined;
  }
  if (sub !== 'series' || !isUid(series)) return undefined;
  const onSeries = { methods: READ_METHODS, studyUid: study, seriesUid: series };
  if (parts.length === 4) return onSeries;
  if (parts.length === 5) return RESOURCE_RENDITIONS.has(sub2!) || sub2 === 'instances' ? onSeries : undefined;
  if (sub2 !== 'instances' || !isUid(instance)) return undefined;
  return instanceTailMatches(tail) ? { ...onSeries, instanceUid: instance } : undefined;
}

function matchPreview(parts: string[]): boolean {
  const [level, id, ...rest] = parts;
  if (level !== 'instances' || !ORTHANC_ID.test(id ?? '')) return false;
  if (rest.length === 1) return rest[0] === 'preview';
  return rest.length === 3 && rest[0] === 'frames' && FRAME_NUMBER.test(rest[1]!) && rest[2] === 'preview';
}

/**
 * The UIDs of a WADO-URI request. parameter-rules.ts has already refused a request that does not
 * give each exactly once, so these are the ones Orthanc's plugin reads.
 */
function wadoUriUids(query: Query): Pick<Route, 'studyUid' | 'seriesUid' | 'instanceUid'> {
  const studyUid = onlyValue(query, 'studyUID');
  const seriesUid = onlyValue(query, 'seriesUID');
  const instanceUid = onlyValue(query, 'objectUID');
  return { ...(isUid(studyUid) ? { studyUid } : {}), ...(isUid(seriesUid) ? { seriesUid } : {}), ...(isUid(instanceUid) ? { instanceUid } : {}) };
}

function joinPath(parts: string[]): string {
  return `/${parts.map(encodeSegment).join('/')}`;
}

function classifyPacs(method: string, parts: string[], upstreamPath: string, query: Query): Classification {
  const allow = (route: Omit<Route, 'prefix' | 'upstreamPath'>, methods: string[]): Classification =>
    methods.includes(method)
      ? { kind: 'route', route: { prefix: '/pacs', upstreamPath, ...route } }
      : { kind: 'method-not-allowed', allowed: methods };

  if (parts[0] === 'dicom-web') {
    const match = matchDicomweb(parts.slice(1));
    if (!match) return { kind: 'not-found' };
    const { methods, ...uids } = match;
    return allow({ class: method === 'POST' ? 'dicomweb-store' : 'dicomweb-read', ...uids }, methods);
  }
  if (parts.length === 1 && parts[0] === 'wado') {
    return allow({ class: 'wado-uri', ...wadoUriUids(query) }, READ_METHODS);
  }
  if (matchPreview(parts)) return allow({ class: 'preview', orthancId: parts[1]! }, READ_METHODS);
  return { kind: 'not-found' };
}

function classifyAdmin(method: string, upstreamPath: string): Classification {
  const blocked = findBlockedEndpoint(method, upstreamPath);
  const route: Route = blocked
    ? { class: 'admin-blocked', prefix: '/pacs-admin', upstreamPath, blocked }
    : { class: 'admin', prefix: '/pacs-admin', upstreamPath };
  return { kind: 'route', route };
}

/**
 * Classifies a normalized path (decoded segments, see normalize.ts; the canonical query only for
 * WADO-URI's UIDs). Matching is case-sensitive:
 * `/PACS-ADMIN` is not the admin prefix and is never forwarded.
 */
export function classify(method: string, segments: readonly string[], query: Query = []): Classification {
  const [prefix, ...rest] = segments;
  if (prefix === 'pacs') return classifyPacs(method, rest, joinPath(rest), query);
  if (prefix === 'pacs-admin') return classifyAdmin(method, joinPath(rest));
  return { kind: 'not-gateway' };
}
