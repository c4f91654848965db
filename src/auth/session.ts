import session, { type SessionData, type Store } from 'express-session';
import type { RequestHandler } from 'express';
import { EndedSessionMemoryStore, EndedSessionRedisStore, type SessionChanged } from './ended-session-store.js';
import type { RedisClient } from './redis.js';
import type { Config } from '../config/config.js';
import type { LoginTransaction, TokenSet } from './oidc.js';
import type { Principal } from './principal.js';

/** The signed-in user of a browser session. Tokens never leave the server. */
export interface SessionUser {
  principal: Omit<Principal, 'via'>;
  tokens: TokenSet;
  /** The IdP session id (`sid`), for back-channel logout. */
  sid: string | undefined;
  /** When the user signed in (ms since epoch), for the absolute session lifetime. */
  signedInAt: number;
}

declare module 'express-session' {
  interface SessionData {
    user?: SessionUser;
    /** Sign-in attempts in progress, by `state` (several tabs may sign in at once). */
    logins?: Record<string, LoginTransaction>;
    /** A share-link recipient's session: read-only access to one study, no user. */
    share?: { id: string; /** The link's creator (sessions opened before it was recorded lack it). */ createdBy?: string };
  }
}

export const MAX_PENDING_LOGINS = 5;

export function sessionCookieName(config: Config): string {
  // The __Host- prefix pins the cookie to this exact host, over HTTPS, path /.
  return config.publicUrl.startsWith('https:') ? '__Host-gw-session' : 'gw-session';
}

type StoreCallback = (error?: unknown, data?: unknown) => unknown;

/**
 * The Redis session store (ended sessions stay ended: EndedSessionRedisStore), except that an unchanged session's expiry is pushed back (EXPIRE) at most once per
 * `touchIntervalMs` per process, instead of on every response: a viewer's burst of DICOMweb
 * requests then costs one Redis round trip each (the read), not two, and the response no longer
 * waits for the second. The idle timeout is kept to within `touchIntervalMs` (see sessionTouchIntervalMs).
 */
export class ThrottledTouchRedisStore extends EndedSessionRedisStore {
  private readonly touchedAt = new Map<string, number>();

  constructor(
    client: RedisClient,
    private readonly touchIntervalMs: number,
    /** How long an ended session's id is remembered: SESSION_MAX_SECONDS, past which no session is honoured anyway. */
    endedTtlSeconds = 86_400,
    private readonly maxTracked = 50_000,
    changed?: SessionChanged,
  ) {
    super(client, endedTtlSeconds, changed);
  }

  private remember(sid: string, now: number): void {
    this.touchedAt.delete(sid);
    if (this.touchedAt.size >= this.maxTracked) {
      const oldest = this.touchedAt.keys().next().value;
      if (oldest !== undefined) this.touchedAt.delete(oldest);
    }
    this.touchedAt.set(sid, now);
  }

  override async touch(sid: string, sess: SessionData, cb?: StoreCallback): Promise<unknown> {
    const now = Date.now();
    const last = this.touchedAt.get(sid);
    if (last !== undefined && now - last < this.touchIntervalMs) return cb?.();
    this.remember(sid, now);
    return super.touch(sid, sess, cb);
  }

  override async set(sid: string, sess: SessionData, cb?: StoreCallback): Promise<unknown> {
    this.remember(sid, Date.now()); // a save resets the expiry too
    return super.set(sid, sess, cb);
  }

  override async destroy(sid: string, cb?: StoreCallback): Promise<unknown> {
    this.touchedAt.delete(sid);
    return super.destroy(sid, cb);
  }
}

/** A tenth of the idle timeout, at most a minute: an idle session ends between 90 % and 100 % of SESSION_IDLE_SECONDS. */
export function sessionTouchIntervalMs(idleSeconds: number): number {
  return Math.min(60_000, (idleSeconds * 1000) / 10);
}

export function createSessionStore(redis: RedisClient | undefined, idleSeconds = 1800, maxSeconds = 86_400, changed?: SessionChanged): Store {
  return redis
    ? new ThrottledTouchRedisStore(redis, sessionTouchIntervalMs(idleSeconds), maxSeconds, undefined, changed)
    : new EndedSessionMemoryStore(maxSeconds, changed);
}

export function createSessionMiddleware(config: Config, store: Store, secret: string): RequestHandler {
  return session({
    name: sessionCookieName(config),
    secret,
    store,
    resave: false,
    saveUninitialized: false,
    rolling: true,
    unset: 'destroy',
    cookie: {
      httpOnly: true,
      sameSite: 'lax',
      secure: config.publicUrl.startsWith('https:'),
      path: '/',
      maxAge: config.session.idleSeconds * 1000,
    },
  });
}

export function isPastAbsoluteLifetime(user: SessionUser, maxSeconds: number, now = Date.now()): boolean {
  return now - user.signedInAt > maxSeconds * 1000;
}
