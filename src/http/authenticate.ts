import type { Request, RequestHandler } from 'express';
import { BEARER_REALM, type BearerVerifier } from '../auth/bearer.js';
import { principalFromClaims } from '../auth/principal.js';
import { GatewayError } from '../errors.js';
import { requestState } from './locals.js';

const BEARER_HEADER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** The bearer token of the Authorization header; null when the request carries none (or another scheme). */
export function bearerToken(req: Request): string | null {
  const values = req.headersDistinct['authorization'] ?? [];
  if (values.length > 1) throw new GatewayError('bad_request', 'More than one Authorization header');
  const header = values[0];
  if (!header || !/^bearer\b/i.test(header)) return null;
  const match = BEARER_HEADER.exec(header);
  if (!match?.[1]) {
    throw new GatewayError('invalid_token', 'The Authorization header is not "Bearer <token>"', {
      'www-authenticate': `Bearer realm="${BEARER_REALM}", error="invalid_request"`,
    });
  }
  return match[1];
}

/** Sets the request's principal from a Bearer token, or to null when no credential is presented. */
export function authenticate(verifier: BearerVerifier, rolesClient: string | undefined): RequestHandler {
  return async (req, res, next) => {
    const token = bearerToken(req);
    const state = requestState(res);
    state.principal = token ? principalFromClaims(await verifier.verify(token), 'bearer', rolesClient) : null;
    next();
  };
}
