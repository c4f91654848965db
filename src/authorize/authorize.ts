// Stage 3, authorize — enters: the canonical request and the principal; leaves: a request the pure policy allows, QIDO-clamped, within per-user concurrency and per-study access; else 401/403/404/429.
import type { RequestHandler } from 'express';
import { GatewayError } from '../errors.js';
import { evaluate, type PolicyOptions } from '../policy/evaluate.js';
import { restrictQueryToStudy } from '../policy/study-scope.js';
import { withQuery } from '../canonical/canonical-request.js';
import { classifiedRequest, requestState } from '../respond/request-state.js';
import { PAGES } from '../respond/gateway-pages.js';
import { answerStudyNotFound, refuseForbidden, refuseUnauthenticated, studyNotYours } from '../respond/refusal.js';

/**
 * Applies the pure policy to the classified route and the principal. Unauthenticated page loads go
 * to the sign-in, forbidden ones get a "no access" page; API calls get 401 / 403 JSON (never Basic,
 * never a redirect).
 */
export function authorize(options: PolicyOptions): RequestHandler {
  return (req, res, next) => {
    const state = requestState(res);
    const { route, principal } = state;
    if (!route) return next();
    const decision = evaluate(route, principal ?? null, options);
    if (decision.outcome === 'unauthenticated' || !principal) return refuseUnauthenticated(req, res);
    if (decision.outcome === 'not-yours') return answerStudyNotFound(req, res, studyNotYours());
    if (decision.outcome === 'forbidden') {
      const error = new GatewayError('forbidden', `Access denied: ${decision.reason}`, {}, route.class === 'admin-blocked' ? 'blocked' : 'forbidden');
      const page = route.class === 'admin-blocked' ? PAGES.blockedEndpoint : route.class.startsWith('admin') ? PAGES.adminForbidden : PAGES.archiveForbidden;
      return refuseForbidden(req, res, principal, error, page);
    }
    if (decision.studyAccess) state.studyAccess = decision.studyAccess;
    if (decision.restrictToStudy) {
      const request = classifiedRequest(state);
      state.request = withQuery(request, restrictQueryToStudy(request.query, decision.restrictToStudy));
    }
    next();
  };
}
