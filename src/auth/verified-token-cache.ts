import { createHash } from 'node:crypto';
import type { JWTPayload } from 'jose';

/**
 * Verified access tokens, so a viewer firing hundreds of requests with one token pays for one
 * signature verification. Keyed by the token's SHA-256 (the token itself is never kept as a key),
 * bounded (least recently used entries go first), and an entry never outlives the token's `exp`.
 *
 * Revocation semantics: like any stateless JWT validation, a cached token stays valid until it
 * expires; revoking it at the IdP does not end it here earlier (Keycloak access tokens live
 * minutes). Key rotation does not matter: a token verified once was signed by a trusted key.
 */
export class VerifiedTokenCache {
  private readonly entries = new Map<string, { claims: JWTPayload; expiresAtMs: number }>();

  constructor(private readonly capacity = 10_000) {}

  private static keyOf(token: string): string {
    return createHash('sha256').update(token).digest('base64url');
  }

  get(token: string, nowMs = Date.now()): JWTPayload | undefined {
    const key = VerifiedTokenCache.keyOf(token);
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (entry.expiresAtMs <= nowMs) return undefined;
    this.entries.set(key, entry); // most recently used goes last
    return entry.claims;
  }

  set(token: string, claims: JWTPayload): void {
    if (typeof claims.exp !== 'number') return;
    if (this.entries.size >= this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(VerifiedTokenCache.keyOf(token), { claims, expiresAtMs: claims.exp * 1000 });
  }

  get size(): number {
    return this.entries.size;
  }
}
