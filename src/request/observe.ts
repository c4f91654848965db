import type { Request, RequestHandler, Response } from 'express';
import { auditOutcome, auditUids, denialReason, type AuditEvent, type AuditLog } from '../observability/audit.js';
import type { Logger } from '../observability/logger.js';
import type { GatewayMetrics, RouteClassLabel } from '../observability/metrics.js';
import { requestState, type RequestState } from '../respond/request-state.js';
import { logAccess } from './access-log.js';

const OPS_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/** A bounded label for any request: the route class of /pacs routes, else the kind of endpoint. */
export function routeClassLabel(state: RequestState, path: string, viewer: boolean): RouteClassLabel {
  if (state.route) return state.route.class;
  if (path.startsWith('/auth/')) return 'auth';
  if (OPS_PATHS.has(path)) return 'ops';
  if (viewer && !/^\/pacs(-admin)?(\/|$)/.test(path)) return 'viewer';
  return 'other';
}

/**
 * The audit event of a finished request: every /pacs and /pacs-admin request, and what /auth routes
 * noted. A proxied request's event is one object filled field by field (in the order of the format
 * in README.md), not merged from partial objects: it is built for every request.
 */
export function auditEvent(req: Request, res: Response, state: RequestState, bytesOut: number): AuditEvent | undefined {
  const { route, principal } = state;
  if (state.audit) {
    return { user: null, via: null, ...state.audit, method: req.method, path: state.receivedPath, status: res.statusCode, clientIp: state.clientIp, requestId: state.requestId, bytesOut };
  }
  if (!route) return undefined;
  const reason = denialReason(state.error, state.loginRedirect);
  const outcome = auditOutcome(route, { status: res.statusCode, loginRedirect: state.loginRedirect, refused: reason !== undefined });
  const event = { event: outcome.event, action: outcome.action, user: principal ? { sub: principal.sub, username: principal.username } : null, via: principal?.via ?? null } as AuditEvent;
  if (principal?.clientId) event.clientId = principal.clientId;
  if (principal?.smart?.patient.length) event.patientContext = principal.smart.patient;
  if (principal?.sharedBy) event.sharedBy = principal.sharedBy;
  event.method = req.method;
  event.path = state.receivedPath;
  event.status = res.statusCode;
  event.clientIp = state.clientIp;
  event.requestId = state.requestId;
  event.bytesOut = bytesOut;
  event.routeClass = route.class;
  const uids = auditUids(route, state.request?.query ?? []);
  if (uids.studyUid !== undefined) event.studyUid = uids.studyUid;
  if (uids.seriesUid !== undefined) event.seriesUid = uids.seriesUid;
  if (uids.instanceUid !== undefined) event.instanceUid = uids.instanceUid;
  if (outcome.event === 'denied' && reason) event.reason = reason;
  return event;
}

export interface ObserveOptions {
  logger: Logger;
  metrics: GatewayMetrics;
  audit: AuditLog;
  viewer: boolean;
}

/**
 * When each response ends (or the client goes away): the access log line, request metrics, auth
 * failures and upstream errors, and the request's audit event. Reads only what the pipeline stages
 * left in the request state (request-state.ts). One 'close' listener, shared by all requests (it
 * finds the request through `this`), and the start values kept in the state: nothing allocated per
 * request here but the log lines themselves.
 */
export function observeRequests({ logger, metrics, audit, viewer }: ObserveOptions): RequestHandler {
  function onClose(this: Response): void {
    const res = this;
    const req = res.req;
    const state = requestState(res);
    const durationMs = Number(process.hrtime.bigint() - state.receivedAt) / 1e6;
    logAccess(logger, req, res, state, durationMs);
    metrics.observeRequest({ routeClass: routeClassLabel(state, state.receivedPath, viewer), method: req.method, status: res.statusCode }, durationMs / 1e3);
    const reason = state.audit?.reason ?? denialReason(state.error, state.loginRedirect);
    if (reason) metrics.authFailure(reason);
    if (state.upstreamError) metrics.upstreamError(state.upstreamError);
    const event = auditEvent(req, res, state, req.socket.bytesWritten - state.socketBytesBefore);
    if (event) audit.record(event);
  }
  return (req, res, next) => {
    const state = requestState(res);
    state.receivedAt = process.hrtime.bigint();
    state.receivedPath = req.path; // read now: a path-mounted router (onLoginPaths in app.ts) strips its mount path from req.path while its handler answers
    state.socketBytesBefore = req.socket.bytesWritten;
    state.clientIp = req.ip;
    res.on('close', onClose);
    next();
  };
}
