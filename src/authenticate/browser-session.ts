import type { RequestHandler } from 'express';
import { GatewayError } from '../errors.js';
import { requestState } from '../respond/request-state.js';

/**
 * Loads the browser session, except for requests that authenticate with a Bearer token (they never
 * wait on the session store) and proxied requests (authenticate asks session-principal.ts, which
 * loads it only when its cache cannot answer). A store failure (Redis down) becomes a fast 503.
 */
export function browserSession(sessionMiddleware: RequestHandler): RequestHandler {
  return (req, res, next) => {
    if (req.headers.authorization !== undefined || requestState(res).route) return next();
    sessionMiddleware(req, res, (error?: unknown) => {
      if (error) return next(new GatewayError('service_unavailable', 'The session store is unavailable; try again shortly'));
      next();
    });
  };
}
