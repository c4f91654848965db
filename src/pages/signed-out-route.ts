import { Router } from 'express';
import { SIGNED_OUT_PATH } from '../auth/signed-out.js';
import { sendErrorPage } from '../respond/error-page.js';
import { PAGES } from '../respond/gateway-pages.js';

/**
 * GET /auth/signed-out, where the IdP returns after sign-out: the "Signed out" page and nothing
 * else. Mounted before the browser session, so it neither starts a sign-in nor reads, renews or
 * sets a session cookie.
 */
export function signedOutRoute(): Router {
  const router = Router({ caseSensitive: true, strict: true });
  router.get(SIGNED_OUT_PATH, (_req, res) => sendErrorPage(res, PAGES.signedOut));
  return router;
}
