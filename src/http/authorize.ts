import type { Request, RequestHandler } from 'express';
import { BEARER_REALM } from '../auth/bearer.js';
import { GatewayError } from '../errors.js';
import { evaluate, type PolicyOptions } from '../policy/evaluate.js';
import { restrictQueryToStudy } from '../policy/study-scope.js';
import { isBrowserNavigation } from './browser-request.js';
import { requestState } from './locals.js';

export const loginRedirectFor = (req: Request) => `/auth/login?returnTo=${encodeURIComponent(req.originalUrl)}`;

/**
 * Applies the pure policy to the classified route and the principal. Unauthenticated page loads go
 * to the sign-in; API calls get 401 JSON with a Bearer challenge (never Basic, never a redirect).
 */
export function authorize(options: PolicyOptions): RequestHandler {
  return (req, res, next) => {
    const { route, principal } = requestState(res);
    if (!route) return next();
    const decision = evaluate(route, principal ?? null, options);
    if (decision.outcome === 'unauthenticated') {
      if (isBrowserNavigation(req)) {
        requestState(res).loginRedirect = true;
        return res.redirect(302, loginRedirectFor(req));
      }
      throw new GatewayError('unauthenticated', 'Authentication required: sign in, or send Authorization: Bearer <access token>', {
        'www-authenticate': `Bearer realm="${BEARER_REALM}"`,
      });
    }
    if (decision.outcome === 'forbidden') {
      throw new GatewayError('forbidden', `Access denied: ${decision.reason}`, {}, route.class === 'admin-blocked' ? 'blocked' : 'forbidden');
    }
    if (decision.studyAccess) requestState(res).studyAccess = decision.studyAccess;
    if (decision.restrictToStudy) {
      const state = requestState(res);
      const query = state.upstreamTarget?.split('?')[1] ?? '';
      state.upstreamTarget = `${route.upstreamPath}?${restrictQueryToStudy(query, decision.restrictToStudy)}`;
    }
    next();
  };
}
