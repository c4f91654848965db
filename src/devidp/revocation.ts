/**
 * Token revocation answered as Keycloak 26 answers it.
 *
 * Keycloak accepts access tokens at its revocation endpoint; oidc-provider answers 400
 * `unsupported_token_type` for JWT access tokens, which makes OHIF's sign-out (oidc-client-ts,
 * `revokeTokensOnSignout`) fail before it reaches the end-session endpoint. JWT access tokens are
 * answered 200 here (RFC 7009 allows a no-op; they live accessTokenLifespan seconds); every other
 * token goes on to oidc-provider. Note: oidc-provider then reads the body express parsed here and
 * prints a one-time warning about it.
 */
import express, { type Router } from 'express';
import { decodeProtectedHeader } from 'jose';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { allowWebOrigin } from './cors.js';
import type { DevRealm } from './realm.js';

function isJwt(token: string): boolean {
  try {
    decodeProtectedHeader(token);
    return true;
  } catch {
    return false;
  }
}

export function createJwtRevocationRouter(realm: () => DevRealm): Router {
  const router = express.Router();
  router.post('/', express.urlencoded({ extended: false, limit: '56kb' }), (req, res, next) => {
    const token = (req.body as Record<string, unknown> | undefined)?.['token'];
    if (typeof token !== 'string' || !isJwt(token)) {
      next();
      return;
    }
    allowWebOrigin(realm(), req, res);
    res.status(200).set('cache-control', 'no-store').end();
  });
  return router;
}

/**
 * oidc-provider middleware: its revocation answer without a body, hence without Content-Type, as
 * Keycloak 26's (200, empty, untyped). oidc-provider answers an empty string, which Koa types
 * `text/plain`; oidc-client-ts (OHIF's OIDC client for the code flow) refuses an answer typed other
 * than JSON, and OHIF's Logout revokes before it signs out: it stopped on the dev IdP only.
 */
export async function revocationAnswerWithoutContentType(ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> {
  await next();
  if (ctx.oidc?.route !== 'revocation' || ctx.status !== 200) return;
  ctx.body = null; // Koa drops Content-Type and Content-Length, and sets 204 for a null body…
  ctx.status = 200; // …which Keycloak does not: 200 again, still with no body.
}
