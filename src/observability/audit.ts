import type { AuditDispatcher } from '../audit/dispatcher.js';
import type { ErrorCode } from '../errors.js';
import { isQidoSearch } from '../policy/qido-limit.js';
import type { Route, RouteClass } from '../policy/routes.js';
import type { Query } from '../canonical/query.js';
import type { Logger } from './logger.js';
import { AUTH_FAILURE_REASONS, type AuthFailureReason } from './metrics.js';

/**
 * The audit trail: who accessed which study, series and instance, who signed in and out, and what
 * was refused. One JSON line per event on the log stream (`"log":"audit"`), or in a hash-chained
 * file of its own, and the standard messages (src/audit/). The format is documented in README.md,
 * "Observability → Audit trail".
 */

export type AuditEventType = 'access' | 'login' | 'logout' | 'denied';
export type AccessAction = 'search' | 'retrieve' | 'store' | 'admin';
export type AuditAction = AccessAction | 'login' | 'logout' | 'denied';

export interface AuditUser {
  sub: string;
  username: string | undefined;
}

export interface AuditUids {
  studyUid?: string;
  seriesUid?: string;
  instanceUid?: string;
}

export interface AuditEvent extends AuditUids {
  event: AuditEventType;
  action: AuditAction;
  /** null when the caller was not (or could not be) authenticated. */
  user: AuditUser | null;
  /** How the caller authenticated; `backchannel` for a logout the IdP requested. */
  via: 'bearer' | 'session' | 'share' | 'backchannel' | null;
  method: string;
  /** The request path, never its query string. */
  path: string;
  status: number;
  routeClass?: RouteClass;
  /** Why a `denied` event was refused. */
  reason?: AuthFailureReason;
  /** Client address (`req.ip`: the socket peer, or X-Forwarded-For with TRUST_PROXY). */
  clientIp: string | undefined;
  requestId: string;
  /** Bytes sent on the connection for this response, headers included. */
  bytesOut?: number;
  /** Back-channel logout: how many gateway sessions were ended. */
  sessionsEnded?: number;
  /** The app the caller's token was issued to (`azp` / `client_id`). */
  clientId?: string;
  /** A SMART app's patient context: the Patient IDs it is confined to. */
  patientContext?: string[];
  /** A share link's recipient or drop-box holder: the user who created the link. */
  sharedBy?: AuditUser;
}

/** What an /auth route tells the audit about its request; the rest is filled in when the response ends. */
export type AuditNote = Pick<AuditEvent, 'event' | 'action'> & Partial<Pick<AuditEvent, 'user' | 'via' | 'reason' | 'sessionsEnded'>>;

/** The action of an allowed request on a proxied route. */
export function accessAction(route: Pick<Route, 'class' | 'upstreamPath'>): AccessAction {
  switch (route.class) {
    case 'admin':
    case 'admin-blocked':
      return 'admin';
    case 'dicomweb-store':
      return 'store';
    case 'dicomweb-read':
      return isQidoSearch(route) ? 'search' : 'retrieve';
    case 'wado-uri':
    case 'preview':
      return 'retrieve';
  }
}

/**
 * 401, 403 and 429 (and a sign-in redirect instead of a 401) are refusals, and so is a request the
 * gateway `refused` under another status (a study not yours, answered 404 like an unknown one);
 * anything else is an access.
 */
export function auditOutcome(
  route: Pick<Route, 'class' | 'upstreamPath'>,
  { status, loginRedirect = false, refused = false }: { status: number; loginRedirect?: boolean; refused?: boolean },
): { event: 'access' | 'denied'; action: AccessAction | 'denied' } {
  if (refused || loginRedirect || status === 401 || status === 403 || status === 429) return { event: 'denied', action: 'denied' };
  return { event: 'access', action: accessAction(route) };
}

const UID_LIST = /^[0-9]+(\.[0-9]+)*([,\\][0-9]+(\.[0-9]+)*)*$/;
const isUidList = (value: string) => value.length <= 1024 && UID_LIST.test(value) && value.split(/[,\\]/).every((uid) => uid.length <= 64);

/** QIDO-RS query parameters naming UIDs: keyword or tag (any case, as Orthanc reads it). */
const QUERY_UID_PARAMETERS: Record<keyof AuditUids, { keyword: string; tag: string }> = {
  studyUid: { keyword: 'StudyInstanceUID', tag: '0020000d' },
  seriesUid: { keyword: 'SeriesInstanceUID', tag: '0020000e' },
  instanceUid: { keyword: 'SOPInstanceUID', tag: '00080018' },
};

function queryUid(query: Query, { keyword, tag }: { keyword: string; tag: string }): string | undefined {
  const values = query.filter(({ name }) => name === keyword || name.toLowerCase() === tag).map(({ value }) => value);
  return values.length === 1 && isUidList(values[0]!) ? values[0] : undefined;
}

/**
 * The UIDs a request names, read from the canonical request Orthanc receives: from the route (its
 * path, or WADO-URI's `studyUID`, `seriesUID`, `objectUID`), and for QIDO searches from the final
 * query (`StudyInstanceUID=`, `0020000D=`…, after a share link's restriction). Malformed values are left out.
 */
export function auditUids(route: Pick<Route, 'class' | 'upstreamPath'> & AuditUids, query: Query): AuditUids {
  const fromQuery = route.class === 'dicomweb-read' && accessAction(route) === 'search';
  const uids: AuditUids = {};
  for (const key of Object.keys(QUERY_UID_PARAMETERS) as Array<keyof AuditUids>) {
    const value = route[key] ?? (fromQuery ? queryUid(query, QUERY_UID_PARAMETERS[key]) : undefined);
    if (value !== undefined) uids[key] = value;
  }
  return uids;
}

const isAuthFailureReason = (value: string | undefined): value is AuthFailureReason =>
  (AUTH_FAILURE_REASONS as readonly string[]).includes(value ?? '');

/** Why a request was refused, from the error it was answered with; undefined when it was not refused. */
export function denialReason(error: { code: ErrorCode; reason?: string | undefined } | undefined, loginRedirect = false): AuthFailureReason | undefined {
  if (loginRedirect) return 'missing';
  if (!error) return undefined;
  if (isAuthFailureReason(error.reason)) return error.reason;
  if (error.code === 'unauthenticated') return 'missing';
  if (error.code === 'invalid_token') return 'invalid_token';
  if (error.code === 'forbidden') return 'forbidden';
  if (error.code === 'too_many_requests') return 'rate_limited';
  return undefined;
}

export interface AuditLog {
  record(event: AuditEvent): void;
  close(): Promise<void> | void;
}

/**
 * Every event goes to the application log's stream with `"log":"audit"` (at every LOG_LEVEL except
 * `silent`) unless the trail has a file of its own, and is handed, without waiting, to the audit
 * sinks (src/audit/: the hash-chained AUDIT_LOG_FILE, syslog, FHIR), which add the patient.
 */
export function createAuditLog({ logger, toLogStream, sinks }: { logger: Logger; toLogStream: boolean; sinks?: AuditDispatcher | undefined }): AuditLog {
  const audit = toLogStream ? logger.child({ log: 'audit' }, { level: logger.level === 'silent' ? 'silent' : 'info' }) : undefined;
  return {
    record: (event) => {
      audit?.info(event, 'audit');
      sinks?.hand(event);
    },
    close: () => sinks?.close(),
  };
}
