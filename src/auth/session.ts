import { RedisStore } from 'connect-redis';
import session, { MemoryStore, type Store } from 'express-session';
import type { RequestHandler } from 'express';
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
    share?: { id: string };
  }
}

export const MAX_PENDING_LOGINS = 5;

export function sessionCookieName(config: Config): string {
  // The __Host- prefix pins the cookie to this exact host, over HTTPS, path /.
  return config.publicUrl.startsWith('https:') ? '__Host-gw-session' : 'gw-session';
}

export function createSessionStore(redis: RedisClient | undefined): Store {
  return redis ? new RedisStore({ client: redis, prefix: 'gw:sess:' }) : new MemoryStore();
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
