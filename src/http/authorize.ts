import type { RequestHandler } from 'express';
import { BEARER_REALM } from '../auth/bearer.js';
import { GatewayError } from '../errors.js';
import { evaluate, type PolicyOptions } from '../policy/evaluate.js';
import { requestState } from './locals.js';

/** Applies the pure policy to the classified route and the authenticated principal. */
export function authorize(options: PolicyOptions): RequestHandler {
  return (_req, res, next) => {
    const { route, principal } = requestState(res);
    if (!route) return next();
    const decision = evaluate(route, principal ?? null, options);
    if (decision.outcome === 'unauthenticated') {
      throw new GatewayError('unauthenticated', 'Authentication required: send Authorization: Bearer <access token>', {
        'www-authenticate': `Bearer realm="${BEARER_REALM}"`,
      });
    }
    if (decision.outcome === 'forbidden') throw new GatewayError('forbidden', `Access denied: ${decision.reason}`);
    next();
  };
}
