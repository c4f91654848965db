import { timingSafeEqual } from 'node:crypto';
import { TtlLruCache } from '../cache/ttl-lru-cache.js';
import type { Principal } from './principal.js';

/**
 * What ends or narrows a cached session: the session itself (`session:<id>`: sign-out, logout,
 * refresh, any save), a share link (`link:<id>`: revoked) or every link of a creator
 * (`creator:<sub>`: suspended, revoked).
 */
export type InvalidationTag = `session:${string}` | `link:${string}` | `creator:${string}`;

interface Entry {
  /** The exact cookie value express-session verified when the entry was made. */
  cookie: Buffer;
  principal: Principal;
  /** Tags besides the session's own (a share session's link and creator). */
  tags: InvalidationTag[];
}

export interface SessionCacheFill {
  principal: Principal;
  /** When the entry must go at the latest (token refresh due, absolute lifetime, link expiry). */
  validUntilMs: number;
  tags?: InvalidationTag[];
}

// express-session's signed value, `s:<id>.<signature>` URI-encoded; the id is uid-safe (base64url).
const SIGNED_SESSION_ID = /^s(?::|%3A)([A-Za-z0-9_-]+)\./;

/**
 * The value of cookie `name` in a Cookie header, undefined when absent or sent more than once
 * (ambiguous: then express-session alone decides).
 */
export function singleCookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  const prefix = `${name}=`;
  let found: string | undefined;
  for (const part of header.split(';')) {
    const pair = part.trimStart();
    if (!pair.startsWith(prefix)) continue;
    if (found !== undefined) return undefined;
    found = pair.slice(prefix.length).trimEnd();
  }
  return found;
}

/** The session id a signed session cookie value names (not verified: see SessionCache.get). */
export function sessionIdOfCookie(value: string): string | undefined {
  return SIGNED_SESSION_ID.exec(value)?.[1];
}

/**
 * Verified browser sessions in memory, so a viewer's burst of requests costs a map look-up instead
 * of a cookie signature check, a Redis read and a JSON parse each. Keyed by session id; a hit needs
 * the very cookie value express-session verified when the entry was made (compared in constant
 * time), so the cache never accepts a cookie express-session would refuse. Bounded (least recently
 * used go first); an entry lives at most `maxAgeMs` — the staleness bound when an invalidation
 * from another replica is lost — and never past its own `validUntilMs`.
 *
 * A fill that began before an invalidation arrived is dropped (`epoch`): a session read just before
 * a logout must not be cached after it.
 */
export class SessionCache {
  private readonly entries: TtlLruCache<string, Entry>;
  private invalidations = 0;

  constructor(
    private readonly maxAgeMs: number,
    capacity = 10_000,
  ) {
    this.entries = new TtlLruCache(capacity);
  }

  /** Counts invalidations; pass the value read before loading a session to `fill`. */
  get epoch(): number {
    return this.invalidations;
  }

  get(cookie: string, nowMs = Date.now()): Principal | undefined {
    const sessionId = sessionIdOfCookie(cookie);
    const entry = sessionId === undefined ? undefined : this.entries.get(sessionId, nowMs);
    if (!entry) return undefined;
    const presented = Buffer.from(cookie);
    return presented.length === entry.cookie.length && timingSafeEqual(presented, entry.cookie) ? entry.principal : undefined;
  }

  /** Remembers the principal express-session loaded for `sessionId` from `cookie`; false when not cached. */
  fill(cookie: string, sessionId: string, fill: SessionCacheFill, epochAtLoad: number, nowMs = Date.now()): boolean {
    if (epochAtLoad !== this.invalidations || sessionIdOfCookie(cookie) !== sessionId) return false;
    const expiresAtMs = Math.min(nowMs + this.maxAgeMs, fill.validUntilMs);
    if (expiresAtMs <= nowMs) return false;
    // One object serves many requests: frozen, so no request can change what the next one sees.
    const principal = Object.freeze(
      Object.fromEntries(Object.entries(fill.principal).map(([key, value]) => [key, Array.isArray(value) ? Object.freeze([...value]) : value])),
    ) as Principal;
    this.entries.set(sessionId, { cookie: Buffer.from(cookie), principal, tags: fill.tags ?? [] }, expiresAtMs);
    return true;
  }

  invalidate(tag: InvalidationTag): void {
    this.invalidations++;
    if (tag.startsWith('session:')) this.entries.delete(tag.slice('session:'.length));
    else this.entries.deleteWhere((entry) => entry.tags.includes(tag));
  }

  /** Forgets everything (invalidations may have been missed: the subscription was down). */
  clear(): void {
    this.invalidations++;
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
