import { errors, jwtVerify, type JWTPayload } from 'jose';
import { GatewayError } from '../errors.js';
import type { IssuerKeys } from './issuer-keys.js';
import { VerifiedTokenCache } from './verified-token-cache.js';

/** Asymmetric algorithms only: never `none`, never HS* (a public key must not become an HMAC secret). */
export const ACCEPTED_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
export const MAX_TOKEN_LENGTH = 8192;
export const BEARER_REALM = 'orthanc-oidc-gateway';
/** Clock difference accepted between the gateway and the IdP on exp / nbf / iat (openid-client's default too). */
export const CLOCK_TOLERANCE_SECONDS = 30;

export interface BearerVerifier {
  /** Resolves to the verified claims of a Keycloak access token, or rejects with a GatewayError. */
  verify(token: string): Promise<JWTPayload>;
  /** The claims `verify` would resolve to at once because the token's verification is still cached; else undefined (then call `verify`). */
  verified(token: string): JWTPayload | undefined;
}

export interface BearerOptions {
  issuer: string;
  audience: string;
  keys: IssuerKeys;
  clockToleranceSeconds?: number;
  cache?: VerifiedTokenCache;
}

/** A 401 with the Bearer challenge naming the problem (shared by JWT verification and introspection). */
export const invalidToken = (message: string, reason?: 'expired') =>
  new GatewayError('invalid_token', message, {
    'www-authenticate': `Bearer realm="${BEARER_REALM}", error="invalid_token", error_description="${message.replace(/["\\]/g, "'")}"`,
  }, reason);

const idpUnavailable = () =>
  new GatewayError('service_unavailable', 'The identity provider cannot be reached to verify the token; try again shortly');

function describeJoseError(error: errors.JOSEError): string {
  if (error instanceof errors.JWTExpired) return 'The access token has expired';
  if (error instanceof errors.JWTClaimValidationFailed) return `The token's "${error.claim}" claim is not acceptable`;
  if (error instanceof errors.JOSEAlgNotAllowed) return 'The token is signed with an algorithm that is not accepted';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'The token signature is invalid';
  if (error instanceof errors.JWKSNoMatchingKey) return 'No key of the identity provider matches the token';
  if (error instanceof errors.JWKSMultipleMatchingKeys) return 'The token does not name its signing key';
  return 'The token is malformed or unsupported';
}

function toGatewayError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  if (error instanceof errors.JWKSTimeout) return idpUnavailable();
  if (error instanceof errors.JOSEError) return invalidToken(describeJoseError(error), error instanceof errors.JWTExpired ? 'expired' : undefined);
  // Anything else comes from fetching discovery or the key set: the IdP is unreachable.
  return idpUnavailable();
}

function checkKeycloakShape(payload: JWTPayload, nowSeconds: number, toleranceSeconds: number): void {
  if (typeof payload.iat === 'number' && payload.iat > nowSeconds + toleranceSeconds) {
    throw invalidToken('The token is issued in the future');
  }
  // Keycloak marks access tokens `typ: Bearer`; ID ("ID") and refresh ("Refresh") tokens are not credentials here.
  if (payload['typ'] !== 'Bearer') throw invalidToken('The token is not an access token');
  // jose only checks that `sub` is present: an empty or non-string subject names nobody.
  if (typeof payload.sub !== 'string' || payload.sub === '') throw invalidToken('The token\'s "sub" claim is not acceptable');
}

export function createBearerVerifier(options: BearerOptions): BearerVerifier {
  const tolerance = options.clockToleranceSeconds ?? CLOCK_TOLERANCE_SECONDS;
  const cache = options.cache ?? new VerifiedTokenCache();
  return {
    verified: (token) => (token.length > MAX_TOKEN_LENGTH ? undefined : cache.get(token)),
    async verify(token) {
      if (token.length > MAX_TOKEN_LENGTH) throw invalidToken('The token is too large');
      const cached = cache.get(token);
      if (cached) return cached;
      try {
        const { payload } = await jwtVerify(token, await options.keys.get(), {
          issuer: options.issuer,
          audience: options.audience,
          algorithms: ACCEPTED_ALGORITHMS,
          clockTolerance: tolerance,
          requiredClaims: ['exp', 'iat', 'sub'],
        });
        checkKeycloakShape(payload, Math.floor(Date.now() / 1000), tolerance);
        cache.set(token, payload);
        return payload;
      } catch (error) {
        throw toGatewayError(error);
      }
    },
  };
}
