import type { Response } from 'express';
import type { Principal } from '../auth/principal.js';
import type { GatewayError } from '../errors.js';
import type { AuditNote } from '../observability/audit.js';
import type { UpstreamErrorKind } from '../observability/metrics.js';
import type { StudyAccessCheck } from '../policy/evaluate.js';
import type { Route } from '../policy/routes.js';
import type { SearchFilter } from './search-filter.js';

/** What the pipeline learns about a request, stage by stage (kept on res.locals). */
export interface RequestState {
  requestId: string;
  route?: Route;
  /** Upstream path + query to send to Orthanc, set once the route is classified. */
  upstreamTarget?: string;
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

/** The query part of the request's upstream target (stages that rewrite the search read it here). */
export function upstreamQuery(state: RequestState): string {
  const target = state.upstreamTarget ?? '';
  const queryStart = target.indexOf('?');
  return queryStart === -1 ? '' : target.slice(queryStart + 1);
}

/** Replaces the query of the upstream target: the route's upstream path with `query`. */
export function setUpstreamQuery(state: RequestState, route: Route, query: string): void {
  state.upstreamTarget = `${route.upstreamPath}?${query}`;
}
