import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type { RouteClass } from '../policy/routes.js';

/**
 * Prometheus metrics of one gateway instance, in its own registry (never prom-client's global one,
 * so several gateways in one process do not clash). Every label value comes from a small fixed
 * set: no path, UID, user name or free text ever becomes a label.
 */

/** The route class label: the proxied classes, plus the gateway's own endpoints. */
export type RouteClassLabel = RouteClass | 'auth' | 'ops' | 'viewer' | 'other';

/** Why the gateway refused to serve a request. */
export const AUTH_FAILURE_REASONS = [
  'missing', // no credentials at all (401, or a sign-in redirect for a page load)
  'invalid_token', // a Bearer token that fails verification (signature, issuer, audience, shape…)
  'expired', // a Bearer token past its expiry
  'forbidden', // authenticated, but lacks the role for the route
  'blocked', // an admin endpoint blocked even for admins
  'csrf', // a cookie-authenticated state change from another site
  'orthanc_forbidden', // Orthanc's own rules (Lua filter, per-role user) refused it
  'login_failed', // a browser sign-in that could not be completed
  'rate_limited', // too many sign-ins or failed authentications from one address (429)
] as const;
export type AuthFailureReason = (typeof AUTH_FAILURE_REASONS)[number];

/** Why a request to Orthanc failed. */
export const UPSTREAM_ERROR_KINDS = ['unreachable', 'timeout', 'credential_rejected', 'server_error'] as const;
export type UpstreamErrorKind = (typeof UPSTREAM_ERROR_KINDS)[number];

export type RefreshOutcome = 'success' | 'failure';

/** A proxied browser-session request answered from the verified-session cache, or loaded from the store. */
export type SessionCacheResult = 'hit' | 'miss';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);

/** Unknown methods collapse to one label value (a client may send any token as method). */
export const methodLabel = (method: string): string => (METHODS.has(method) ? method : 'other');

export interface GatewayMetrics {
  registry: Registry;
  /** Counts one finished (or aborted) request. */
  observeRequest(labels: { routeClass: RouteClassLabel; method: string; status: number }, seconds: number): void;
  authFailure(reason: AuthFailureReason): void;
  upstreamError(kind: UpstreamErrorKind): void;
  tokenRefresh(outcome: RefreshOutcome): void;
  sessionCacheLookup(result: SessionCacheResult): void;
}

export function createMetrics(): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const requests = new Counter({
    name: 'gateway_http_requests_total',
    help: 'HTTP requests answered by the gateway, by route class, method and status code',
    labelNames: ['route_class', 'method', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'gateway_http_request_duration_seconds',
    help: 'Time from receiving a request until its response is finished (or aborted), by route class',
    labelNames: ['route_class'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const authFailures = new Counter({
    name: 'gateway_auth_failures_total',
    help: 'Requests refused for authentication or authorization, by reason',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const upstreamErrors = new Counter({
    name: 'gateway_upstream_errors_total',
    help: 'Failed requests to Orthanc, by kind',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  const refreshes = new Counter({
    name: 'gateway_token_refreshes_total',
    help: 'Access token refreshes of browser sessions at the identity provider, by outcome',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const sessionCacheLookups = new Counter({
    name: 'gateway_session_cache_lookups_total',
    help: 'Proxied requests of a browser session answered from the verified-session cache (hit) or after loading the session (miss)',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  // Bound once: this one is counted on every proxied session request.
  const sessionCacheChildren = { hit: sessionCacheLookups.labels('hit'), miss: sessionCacheLookups.labels('miss') };
  // Known label values start at 0, so rates and alerts work before the first failure.
  for (const reason of AUTH_FAILURE_REASONS) authFailures.inc({ reason }, 0);
  for (const kind of UPSTREAM_ERROR_KINDS) upstreamErrors.inc({ kind }, 0);
  for (const outcome of ['success', 'failure'] as const) refreshes.inc({ outcome }, 0);
  for (const child of Object.values(sessionCacheChildren)) child.inc(0);

  return {
    registry,
    observeRequest({ routeClass, method, status }, seconds) {
      requests.inc({ route_class: routeClass, method: methodLabel(method), status: String(status) });
      duration.observe({ route_class: routeClass }, seconds);
    },
    authFailure: (reason) => authFailures.inc({ reason }),
    upstreamError: (kind) => upstreamErrors.inc({ kind }),
    tokenRefresh: (outcome) => refreshes.inc({ outcome }),
    sessionCacheLookup: (result) => sessionCacheChildren[result].inc(),
  };
}
