import { hash } from 'node:crypto';
import type { JWTPayload } from 'jose';
import { TtlLruCache } from '../cache/ttl-lru-cache.js';

/**
 * Verified access tokens, so a viewer firing hundreds of requests with one token pays for one
 * signature verification. Keyed by the token's SHA-256 (the token itself is never kept as a key),
 * bounded (least recently used entries go first), and an entry never outlives the token's `exp`.
 *
 * Revocation semantics: like any stateless JWT validation, revoking a token at the IdP does not end
 * it here before it expires (Keycloak access tokens live minutes). An entry is also kept at most
 * `maxAgeMs` (60 s): when a signing key is removed from the IdP's key set (a leaked key), tokens it
 * signed stop working once that entry and the JWKS cache have expired, whatever `exp` they claim.
 */
export class VerifiedTokenCache {
  private readonly entries: TtlLruCache<string, JWTPayload>;

  constructor(
    capacity = 10_000,
    private readonly maxAgeMs = 60_000,
  ) {
    this.entries = new TtlLruCache(capacity);
  }

  private static keyOf(token: string): string {
    return hash('sha256', token, 'base64url'); // one-shot: half the cost of createHash() per request
  }

  get(token: string, nowMs = Date.now()): JWTPayload | undefined {
    return this.entries.get(VerifiedTokenCache.keyOf(token), nowMs);
  }

  set(token: string, claims: JWTPayload, nowMs = Date.now()): void {
    if (typeof claims.exp !== 'number') return;
    this.entries.set(VerifiedTokenCache.keyOf(token), claims, Math.min(claims.exp * 1000, nowMs + this.maxAgeMs));
  }

  get size(): number {
    return this.entries.size;
  }
}
