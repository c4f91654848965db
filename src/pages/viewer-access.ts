import type { RequestHandler } from 'express';
import type { BrowserSessions } from '../auth/browser-sessions.js';
import { GatewayError } from '../errors.js';
import { canRead, type RoleNames } from '../policy/evaluate.js';
import { isBrowserNavigation } from '../respond/browser-request.js';
import { PAGES } from '../respond/gateway-pages.js';
import { refuseForbidden, refuseUnauthenticated } from '../respond/refusal.js';
import { DROP_BOX_PAGE } from './share-routes.js';

export type ViewerAccess = 'session' | 'public';

/**
 * Who may load the viewer's pages. `session` (OHIF without its own OIDC): sign in first, and an
 * account without a PACS role gets a clear "no access" page instead of a viewer that fails on every
 * request; a drop box's holder, who may only send studies, is sent to the upload page. `public`:
 * anyone (OHIF signs in by itself and sends Bearer tokens).
 */
export function viewerPageGuard(access: ViewerAccess, sessions: BrowserSessions, roles: RoleNames): RequestHandler {
  if (access === 'public') return (_req, _res, next) => next();
  return async (req, res, next) => {
    const principal = await sessions.principal(req).catch(() => {
      throw new GatewayError('service_unavailable', 'The session store is unavailable; try again shortly');
    });
    if (!principal) return refuseUnauthenticated(req, res);
    if (principal.dropBox && isBrowserNavigation(req)) return void res.set('cache-control', 'no-store').redirect(302, DROP_BOX_PAGE);
    if (!canRead(principal, roles)) {
      const error = new GatewayError('forbidden', 'Access denied: this account has no PACS role', {}, 'forbidden');
      return refuseForbidden(req, res, principal, error, PAGES.noPacsRole);
    }
    next();
  };
}
