/**
 * Keycloak accepts access tokens at its revocation endpoint; oidc-provider answers 400
 * `unsupported_token_type` for JWT access tokens, which makes OHIF's sign-out (oidc-client-ts,
 * `revokeTokensOnSignout`) fail before it reaches the end-session endpoint. JWT access tokens are
 * answered 200 here (RFC 7009 allows a no-op; they live accessTokenLifespan seconds); every other
 * token goes on to oidc-provider. Note: oidc-provider then reads the body express parsed here and
 * prints a one-time warning about it.
 */
import express, { type Router } from 'express';
import { decodeProtectedHeader } from 'jose';
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
