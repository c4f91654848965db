import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request } from 'express';
import type { SessionData } from 'express-session';
import type { BrowserSessions } from './browser-sessions.js';
import type { Principal } from './principal.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import { refreshDueAt } from './refresh.js';
import { singleCookieValue, type SessionCacheFill, type SessionCache } from './session-cache.js';

/** A request as express-session leaves it (the session is loaded on demand here). */
type SessionRequest = IncomingMessage & { session?: Partial<SessionData>; sessionID?: string };

/** The principal of a request's browser session, from memory when it was verified moments ago; null without one. Store failures throw. */
export interface SessionPrincipal {
  (req: IncomingMessage, res: ServerResponse): Promise<Principal | null>;
  /** The principal of a session verified moments ago (a cache hit), without waiting; undefined when the call above has to answer. */
  cached(req: IncomingMessage): Principal | undefined;
}

export interface SessionPrincipalDeps {
  sessions: Pick<BrowserSessions, 'principal'>;
  cache: SessionCache | undefined;
  cookieName: string;
  /** express-session's middleware: loads req.session (the proxied routes skip it until here). A method: Express's own handler type fits. */
  loadSession(req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): void;
  maxSeconds: number;
  metrics: Pick<GatewayMetrics, 'sessionCacheLookup'>;
}

/** How long what was just read may be served from memory, and what ends it early. */
function cacheFill(session: Partial<SessionData>, principal: Principal, maxSeconds: number): SessionCacheFill {
  const { user, share } = session;
  if (user) return { principal, validUntilMs: Math.min(refreshDueAt(user), user.signedInAt + maxSeconds * 1000) };
  // A share session made before its creator was recorded in it is not cached: a suspension could not reach it.
  if (!share?.createdBy) return { principal, validUntilMs: 0 };
  return { principal, validUntilMs: principal.expiresAt * 1000, tags: [`link:${share.id}`, `creator:${share.createdBy}`] };
}

/**
 * The one entry point of the request path to browser sessions (Express and a lean node:http
 * handler alike): a cache hit costs a map look-up; a miss loads the session (express-session:
 * signature check, Redis read, rolling touch), asks BrowserSessions (refresh near expiry, share
 * link and creator standing) and caches a non-null answer.
 */
export function createSessionPrincipal(deps: SessionPrincipalDeps): SessionPrincipal {
  const { sessions, cache, cookieName, maxSeconds, metrics } = deps;
  const load = (req: IncomingMessage, res: ServerResponse) =>
    new Promise<void>((resolve, reject) => deps.loadSession(req, res, (error) => (error ? reject(error) : resolve())));

  const cached = (req: IncomingMessage) => {
    const cookie = singleCookieValue(req.headers.cookie, cookieName);
    const hit = cookie === undefined ? undefined : cache?.get(cookie);
    if (hit) metrics.sessionCacheLookup('hit');
    return hit;
  };
  const principalOf = async (request: IncomingMessage, res: ServerResponse) => {
    const req = request as SessionRequest;
    const cookie = singleCookieValue(req.headers.cookie, cookieName);
    const hit = cookie === undefined ? undefined : cache?.get(cookie);
    if (hit) {
      metrics.sessionCacheLookup('hit');
      return hit;
    }
    if (cookie === undefined && !req.headers.cookie?.includes(`${cookieName}=`)) return null; // no session cookie: nothing to load
    if (cache) metrics.sessionCacheLookup('miss');
    // Only a session read here is cached: one read earlier (pages, /auth routes) may predate an invalidation the epoch did not see.
    const loadedHere = !req.session;
    const epoch = cache?.epoch ?? 0;
    if (loadedHere) await load(req, res);
    const principal = await sessions.principal(req as unknown as Request); // what principal() reads is express-session's
    if (principal && cache && loadedHere && cookie !== undefined && req.session && req.sessionID) {
      cache.fill(cookie, req.sessionID, cacheFill(req.session, principal, maxSeconds), epoch);
    }
    return principal;
  };
  return Object.assign(principalOf, { cached });
}
