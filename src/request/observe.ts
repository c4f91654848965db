import type { Request, RequestHandler, Response } from 'express';
import { auditOutcome, auditUids, denialReason, type AuditEvent, type AuditLog } from '../observability/audit.js';
import type { GatewayMetrics, RouteClassLabel } from '../observability/metrics.js';
import { requestState, type RequestState } from '../respond/request-state.js';

const OPS_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/** A bounded label for any request: the route class of /pacs routes, else the kind of endpoint. */
export function routeClassLabel(state: RequestState, path: string, viewer: boolean): RouteClassLabel {
  if (state.route) return state.route.class;
  if (path.startsWith('/auth/')) return 'auth';
  if (OPS_PATHS.has(path)) return 'ops';
  if (viewer && !/^\/pacs(-admin)?(\/|$)/.test(path)) return 'viewer';
  return 'other';
}

/** The audit event of a finished request: every /pacs and /pacs-admin request, and what /auth routes noted. */
function auditEvent(req: Request, res: Response, state: RequestState, path: string, bytesOut: number): AuditEvent | undefined {
  const common = {
    method: req.method,
    path,
    status: res.statusCode,
    clientIp: req.ip,
    requestId: state.requestId,
    bytesOut,
  };
  if (state.audit) return { user: null, via: null, ...state.audit, ...common };
  const { route, principal } = state;
  if (!route) return undefined;
  const reason = denialReason(state.error, state.loginRedirect);
  const outcome = auditOutcome(route, { status: res.statusCode, loginRedirect: state.loginRedirect, refused: reason !== undefined });
  return {
    ...outcome,
    user: principal ? { sub: principal.sub, username: principal.username } : null,
    via: principal?.via ?? null,
    ...(principal?.clientId ? { clientId: principal.clientId } : {}),
    ...(principal?.smart?.patient.length ? { patientContext: principal.smart.patient } : {}),
    ...(principal?.sharedBy ? { sharedBy: principal.sharedBy } : {}),
    ...common,
    routeClass: route.class,
    ...auditUids(route, state.request?.query ?? []),
    ...(outcome.event === 'denied' && reason ? { reason } : {}),
  };
}

/**
 * When each response ends (or the client goes away): request metrics, auth failures and upstream
 * errors, and the request's audit event. Reads only what the pipeline stages left in the request
 * state (see locals.ts).
 */
export function observeRequests({ metrics, audit, viewer }: { metrics: GatewayMetrics; audit: AuditLog; viewer: boolean }): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    const path = req.path; // read now: the proxy stage rewrites req.url to Orthanc's path
    const bytesBefore = req.socket.bytesWritten;
    res.on('close', () => {
      const state = requestState(res);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.observeRequest({ routeClass: routeClassLabel(state, path, viewer), method: req.method, status: res.statusCode }, seconds);
      const reason = state.audit?.reason ?? denialReason(state.error, state.loginRedirect);
      if (reason) metrics.authFailure(reason);
      if (state.upstreamError) metrics.upstreamError(state.upstreamError);
      const event = auditEvent(req, res, state, path, req.socket.bytesWritten - bytesBefore);
      if (event) audit.record(event);
    });
    next();
  };
}
