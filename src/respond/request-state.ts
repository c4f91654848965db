// Shared leaf, respond: the per-request state every stage reads and writes (res.locals), and how the gateway answers: JSON errors, refusals, its own pages.
import type { Response } from 'express';
import type { Principal } from '../auth/principal.js';
import type { GatewayError } from '../errors.js';
import type { AuditNote } from '../observability/audit.js';
import type { UpstreamErrorKind } from '../observability/metrics.js';
import type { StudyAccessCheck } from '../policy/evaluate.js';
import type { Route } from '../policy/routes.js';
import type { CanonicalRequest } from '../canonical/canonical-request.js';
import type { NormalizedTarget } from '../policy/normalize.js';

/** A search whose results the proxy keeps and pages (search-filter.ts); set by per-study access. */
export interface SearchFilter {
  /** Whether a result dataset (parsed DICOM JSON) may be shown; may ask Orthanc (per-study access). */
  keep: (dataset: unknown) => boolean | Promise<boolean>;
  /** The client's paging, applied to the kept results. */
  offset: number;
  limit: number | undefined;
}

/** What the pipeline learns about a request, stage by stage (kept on res.locals). */
export interface RequestState {
  requestId: string;
  /** When the request arrived (process.hrtime.bigint()), its path as it arrived, and the bytes its connection had written before: set by observe.ts. */
  receivedAt: bigint;
  receivedPath: string;
  socketBytesBefore: number;
  /** `req.ip` when the request arrived: once a client has closed its connection, the socket no longer knows its peer. */
  clientIp: string | undefined;
  /** The request target as normalize.ts reads it, or why it is refused: set by readRequestTarget (classify.ts). */
  target?: NormalizedTarget;
  route?: Route;
  /** The one parsed reading of a proxied request (set with `route`); the request to Orthanc is serialized from it. */
  request?: CanonicalRequest;
  principal?: Principal | null;
  /** What per-study access still has to check (set by authorize, carried out by study-access.ts). */
  studyAccess?: StudyAccessCheck;
  /** A search whose results the proxy filters and pages for per-study access. */
  searchFilter?: SearchFilter;
  /** Byte limit of a chunked upload, counted while it streams to Orthanc. */
  streamedBodyLimit?: number;
  /** The error the request was answered with (set by sendError), for metrics and the audit trail. */
  error?: GatewayError;
  /** An unauthenticated page load was answered with a redirect to the sign-in instead of a 401. */
  loginRedirect?: boolean;
  /** Why the request to Orthanc failed (set by proxy.ts). */
  upstreamError?: UpstreamErrorKind;
  /** The audit event of a non-proxied request (sign-in, sign-out), completed when the response ends. */
  audit?: AuditNote;
}

export function requestState(res: Response): RequestState {
  return res.locals as RequestState;
}

/** The canonical request of a classified route; a stage reached without one is a wiring bug, and fails closed. */
export function classifiedRequest(state: RequestState): CanonicalRequest {
  if (!state.request) throw new Error('No canonical request: the request was not classified');
  return state.request;
}
