import { hash } from 'node:crypto';
import type { JWTPayload } from 'jose';
import type { IntrospectionResponse } from 'openid-client';
import { TtlLruCache } from '../cache/ttl-lru-cache.js';
import { GatewayError } from '../errors.js';
import { CLOCK_TOLERANCE_SECONDS, invalidToken, MAX_TOKEN_LENGTH, type BearerVerifier } from './bearer.js';

export interface IntrospectionOptions {
  issuer: string;
  audience: string;
  /** The IdP's answer for a token (openid-client's tokenIntrospection with the gateway's credentials). */
  introspect(token: string): Promise<IntrospectionResponse>;
  /** OIDC_INTROSPECTION_CACHE_SECONDS: how long an active answer is reused (0: ask on every request). */
  cacheSeconds: number;
  capacity?: number;
  /** Milliseconds since the epoch (tests move it). */
  now?: () => number;
}

const idpUnavailable = () =>
  new GatewayError('service_unavailable', 'The identity provider cannot be reached to introspect the token; try again shortly');

const audiences = (aud: unknown): string[] => (Array.isArray(aud) ? aud : [aud]).filter((item): item is string => typeof item === 'string');

/** The checks a verified JWT passes, applied to the IdP's answer about the token. */
function claimsOf(answer: IntrospectionResponse, { issuer, audience }: IntrospectionOptions, nowSeconds: number): JWTPayload {
  if (answer.active !== true) throw invalidToken('The token is not active (expired, revoked or unknown to the identity provider)');
  if (answer.iss !== undefined && answer.iss !== issuer) throw invalidToken('The token\'s "iss" claim is not acceptable');
  if (!audiences(answer.aud).includes(audience)) throw invalidToken('The token\'s "aud" claim is not acceptable');
  if (typeof answer.sub !== 'string' || answer.sub === '') throw invalidToken('The token\'s "sub" claim is not acceptable');
  // Without exp nothing bounds the token's use; past exp the IdP should have said inactive.
  if (typeof answer.exp !== 'number' || answer.exp <= nowSeconds - CLOCK_TOLERANCE_SECONDS) throw invalidToken('The access token has expired', 'expired');
  // Keycloak also introspects refresh and ID tokens (typ "Refresh", "ID"): they are not credentials here.
  if (answer['typ'] !== undefined && answer['typ'] !== 'Bearer') throw invalidToken('The token is not an access token');
  return answer as JWTPayload;
}

/**
 * Access tokens validated by the IdP (RFC 7662): for lightweight or opaque tokens, and sites that
 * want revocation to count. Active answers are reused for at most `cacheSeconds`, never past the
 * token's `exp` (keyed by the token's SHA-256, bounded, least recently used first); a revoked token
 * keeps working until its entry ends. Inactive answers are not cached. Concurrent requests with one
 * new token share one introspection. The IdP not answering is a 503, never a 401.
 */
export function createIntrospectionVerifier(options: IntrospectionOptions): BearerVerifier {
  const cache = new TtlLruCache<string, JWTPayload>(options.capacity ?? 10_000);
  const inFlight = new Map<string, Promise<JWTPayload>>();
  const now = options.now ?? Date.now;

  async function introspect(key: string, token: string): Promise<JWTPayload> {
    let answer: IntrospectionResponse;
    try {
      answer = await options.introspect(token);
    } catch {
      throw idpUnavailable();
    }
    const nowMs = now();
    const claims = claimsOf(answer, options, Math.floor(nowMs / 1000));
    if (options.cacheSeconds > 0) cache.set(key, claims, Math.min((claims.exp ?? 0) * 1000, nowMs + options.cacheSeconds * 1000));
    return claims;
  }

  const keyOf = (token: string) => hash('sha256', token, 'base64url');
  return {
    verified: (token) => (token.length > MAX_TOKEN_LENGTH ? undefined : cache.get(keyOf(token), now())),
    async verify(token) {
      if (token.length > MAX_TOKEN_LENGTH) throw invalidToken('The token is too large');
      const key = keyOf(token);
      const cached = cache.get(key, now());
      if (cached) return cached;
      let pending = inFlight.get(key);
      if (!pending) {
        pending = introspect(key, token).finally(() => inFlight.delete(key));
        inFlight.set(key, pending);
      }
      return pending;
    },
  };
}
