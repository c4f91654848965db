// Exit, pages — enters: a request the gateway answers itself (sign-in/out, share links, the viewer, SMART configuration); leaves: the gateway's HTML or JSON, never Orthanc's.
import express, { Router, type Request, type RequestHandler, type Response } from 'express';
import { BEARER_REALM } from '../auth/bearer.js';
import type { BrowserSessions } from '../auth/browser-sessions.js';
import { IssuerUnavailableError } from '../auth/issuer.js';
import { InvalidLogoutToken } from '../auth/logout-token.js';
import { idpErrorPage } from '../auth/idp-errors.js';
import { LoginError, type OidcClient } from '../auth/oidc.js';
import { MAX_PENDING_LOGINS } from '../auth/session.js';
import { safeReturnTo } from '../auth/return-to.js';
import { GatewayError } from '../errors.js';
import type { Principal } from '../auth/principal.js';
import type { Logger } from '../observability/logger.js';
import { isSameOriginRequest } from '../respond/browser-request.js';
import { sendErrorPage } from '../respond/error-page.js';
import { PAGES } from '../respond/gateway-pages.js';
import { requestState } from '../respond/request-state.js';

export interface AuthRoutesOptions {
  publicUrl: string;
  oidc: OidcClient;
  sessions: BrowserSessions;
  /** Sets the principal (Bearer or session) for /auth/me. */
  authenticate: RequestHandler;
  /** Whether the policy lets this principal upload (STOW-RS): /auth/me tells viewers whether to offer Upload. */
  mayUpload: (principal: Principal) => boolean;
  logger: Logger;
}

const LOGIN_ATTEMPT_MAX_AGE_MS = 10 * 60 * 1000;
/** Audit notes of /auth requests; observe.ts writes them when the response ends. */
const loginFailed = (res: Response) => {
  requestState(res).audit = { event: 'denied', action: 'denied', reason: 'login_failed' };
};
/** How much of the IdP's error text goes to the log (never to the page). */
const LOGGED_DESCRIPTION_CHARS = 200;
const queryString = (req: Request, name: string) => (typeof req.query[name] === 'string' ? (req.query[name] as string) : undefined);

/** /auth/*: sign-in (code + PKCE), callback, logout, back-channel logout, who-am-I. */
export function authRoutes({ publicUrl, oidc, sessions, authenticate, mayUpload, logger }: AuthRoutesOptions): Router {
  const router = Router({ caseSensitive: true, strict: true });
  const publicOrigin = new URL(publicUrl).origin;

  router.get('/auth/login', async (req, res) => {
    let login: Awaited<ReturnType<OidcClient['startLogin']>>;
    try {
      login = await oidc.startLogin(safeReturnTo(queryString(req, 'returnTo'), publicUrl));
    } catch (error) {
      if (!(error instanceof IssuerUnavailableError)) throw error;
      logger.warn({ err: error, requestId: requestState(res).requestId }, 'sign-in impossible: identity provider unavailable');
      res.set('retry-after', '30');
      return sendErrorPage(res, PAGES.identityProviderUnavailable);
    }
    const { url, transaction } = login;
    const pending = Object.entries(req.session.logins ?? {})
      .filter(([, attempt]) => Date.now() - attempt.createdAt < LOGIN_ATTEMPT_MAX_AGE_MS)
      .slice(-(MAX_PENDING_LOGINS - 1));
    req.session.logins = { ...Object.fromEntries(pending), [transaction.state]: transaction };
    res.set('cache-control', 'no-store').redirect(302, url.href);
  });

  router.get('/auth/callback', async (req, res) => {
    const idpError = queryString(req, 'error');
    if (idpError) {
      loginFailed(res);
      const description = queryString(req, 'error_description')?.slice(0, LOGGED_DESCRIPTION_CHARS);
      logger.warn({ requestId: requestState(res).requestId, idpError: idpError.slice(0, LOGGED_DESCRIPTION_CHARS), description }, 'the identity provider answered the sign-in with an error');
      return sendErrorPage(res, idpErrorPage(idpError));
    }
    const state = queryString(req, 'state');
    const transaction = state ? req.session.logins?.[state] : undefined;
    if (!state || !transaction || Date.now() - transaction.createdAt > LOGIN_ATTEMPT_MAX_AGE_MS) {
      loginFailed(res);
      return sendErrorPage(res, PAGES.signInExpired);
    }
    delete req.session.logins?.[state]; // single use, whatever happens next
    try {
      const { tokens, sid } = await oidc.completeLogin(new URL(req.originalUrl, publicUrl), transaction);
      await sessions.signIn(req, tokens, sid);
    } catch (error) {
      if (error instanceof GatewayError && error.status >= 500) throw error;
      logger.warn({ err: error, requestId: requestState(res).requestId }, 'sign-in failed');
      loginFailed(res);
      // The page never shows the library's message: it can quote the callback's parameters.
      if (error instanceof LoginError && error.status === 503) return sendErrorPage(res, PAGES.identityProviderUnavailable);
      return sendErrorPage(res, PAGES.signInFailed);
    }
    const user = req.session.user?.principal;
    requestState(res).audit = { event: 'login', action: 'login', user: user ? { sub: user.sub, username: user.username } : null, via: 'session' };
    res.redirect(302, transaction.returnTo);
  });

  router.post('/auth/logout', async (req, res) => {
    // A cross-site form or image cannot sign anyone out.
    if (!isSameOriginRequest(req, publicOrigin)) {
      requestState(res).audit = { event: 'denied', action: 'denied', reason: 'csrf' };
      throw new GatewayError('forbidden', 'Cross-site logout refused', {}, 'csrf');
    }
    const user = await sessions.signOut(req).catch(() => {
      throw new GatewayError('service_unavailable', 'The session store is unavailable; try again shortly');
    });
    const principal = user?.principal;
    requestState(res).audit = { event: 'logout', action: 'logout', user: principal ? { sub: principal.sub, username: principal.username } : null, via: 'session' };
    res.set('cache-control', 'no-store').redirect(302, await oidc.endSessionUrl(user?.tokens.idToken));
  });
  router.all('/auth/logout', () => {
    throw new GatewayError('method_not_allowed', 'Sign out with POST /auth/logout', { allow: 'POST' });
  });

  router.post('/auth/backchannel-logout', express.urlencoded({ extended: false, limit: '16kb' }), async (req, res) => {
    res.set('cache-control', 'no-store');
    const token = (req.body as Record<string, unknown> | undefined)?.['logout_token'];
    if (typeof token !== 'string') throw new GatewayError('bad_request', 'logout_token is required');
    try {
      const { sub, ended } = await sessions.backchannelLogout(token);
      requestState(res).audit = { event: 'logout', action: 'logout', user: sub ? { sub, username: undefined } : null, via: 'backchannel', sessionsEnded: ended };
    } catch (error) {
      if (error instanceof InvalidLogoutToken) {
        requestState(res).audit = { event: 'denied', action: 'denied', reason: 'invalid_token' };
        throw new GatewayError('bad_request', error.message);
      }
      throw new GatewayError('service_unavailable', 'Sessions could not be ended; the session store is unavailable');
    }
    res.status(200).end();
  });

  router.get('/auth/me', authenticate, (_req, res) => {
    const principal = requestState(res).principal;
    if (!principal) throw new GatewayError('unauthenticated', 'Not signed in', { 'www-authenticate': `Bearer realm="${BEARER_REALM}"` });
    const { sub, username, name, email, roles, via } = principal;
    res.set('cache-control', 'no-store').json({ sub, username, name, email, roles, via, canUpload: mayUpload(principal) });
  });

  return router;
}
