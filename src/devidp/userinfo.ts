/**
 * Keycloak's userinfo endpoint accepts its access tokens. oidc-provider's refuses any access token
 * that has an audience (ours always do: `aud: orthanc-gateway`), yet OHIF (oidc-client-ts with
 * `loadUserInfo: true`) calls userinfo after every sign-in. So the dev IdP answers userinfo here:
 * the access token is verified with jose against the IdP's own keys, the claims come from the realm.
 */
import express, { type Request, type Response, type Router } from 'express';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { userinfoClaims } from './claims.js';
import { allowWebOrigin } from './cors.js';
import type { KeyRing } from './keys.js';
import { findUserById, type DevRealm } from './realm.js';

export interface UserinfoDeps {
  issuer: string;
  keys: KeyRing;
  realm: () => DevRealm;
}

function cors(realm: () => DevRealm) {
  return (req: Request, res: Response, next: express.NextFunction) => {
    const allowed = allowWebOrigin(realm(), req, res);
    if (req.method !== 'OPTIONS') {
      next();
      return;
    }
    if (allowed) {
      res.set('access-control-allow-methods', 'GET, POST');
      res.set('access-control-allow-headers', 'Authorization, Content-Type');
      res.set('access-control-max-age', '600');
    }
    res.status(204).end();
  };
}

function unauthorized(res: Response, description: string): void {
  res
    .status(401)
    .set('www-authenticate', `Bearer error="invalid_token", error_description="${description}"`)
    .json({ error: 'invalid_token', error_description: description });
}

export function createUserinfoRouter({ issuer, keys, realm }: UserinfoDeps): Router {
  const router = express.Router();
  router.use(cors(realm));
  router.all('/', async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'POST') {
      res.status(405).set('allow', 'GET, POST').end();
      return;
    }
    res.set('cache-control', 'no-store');
    const [scheme, token] = (req.get('authorization') ?? '').split(' ');
    if (scheme?.toLowerCase() !== 'bearer' || !token) {
      unauthorized(res, 'missing bearer access token');
      return;
    }
    try {
      const { payload } = await jwtVerify(token, createLocalJWKSet(keys.publicJwks), { issuer, algorithms: ['RS256'] });
      const user = payload.typ === 'Bearer' && payload.sub ? findUserById(realm(), payload.sub) : undefined;
      if (!user?.enabled) {
        unauthorized(res, 'token is not an access token of an active user');
        return;
      }
      res.json(userinfoClaims(user));
    } catch {
      unauthorized(res, 'access token is invalid or expired');
    }
  });
  return router;
}
