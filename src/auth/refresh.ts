import { randomUUID } from 'node:crypto';
import type { SessionData, Store } from 'express-session';
import { saveUnlessEnded } from './ended-session-store.js';
import type { SessionUser } from './session.js';
import type { SharedState } from './shared-state.js';

const LOCK_TTL_MS = 15_000;
const WAIT_FOR_OTHER_REPLICA_MS = 10_000;
const POLL_MS = 100;

export class RefreshFailed extends Error {
  override name = 'RefreshFailed';
}

/** When the access token is due for refresh: 30 s, or a quarter of a short token's lifetime, before it expires. */
export function refreshDueAt(user: SessionUser): number {
  return user.tokens.accessExpiresAt - Math.min(30_000, user.tokens.lifetimeMs / 4);
}

export function needsRefresh(user: SessionUser, now = Date.now()): boolean {
  return refreshDueAt(user) <= now;
}

const loadSession = (store: Store, sessionId: string) =>
  new Promise<SessionData | null | undefined>((resolve, reject) => store.get(sessionId, (error, data) => (error ? reject(error) : resolve(data))));

/**
 * Single-flight token refresh: however many requests of one session arrive near expiry, on however
 * many replicas, the IdP sees one refresh. In-process callers share one promise; across replicas a
 * short lock in the shared state elects one refresher and the others wait for the session it saves.
 */
export function createRefresher(options: {
  store: Store;
  state: SharedState;
  refresh: (user: SessionUser) => Promise<SessionUser>;
}) {
  const inFlight = new Map<string, Promise<SessionUser>>();
  const isNewer = (candidate: SessionUser | undefined, than: SessionUser) =>
    candidate !== undefined && candidate.tokens.accessExpiresAt > than.tokens.accessExpiresAt;

  async function waitForOtherReplica(sessionId: string, user: SessionUser): Promise<SessionUser> {
    const deadline = Date.now() + WAIT_FOR_OTHER_REPLICA_MS;
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      const latest = (await loadSession(options.store, sessionId))?.user;
      if (!latest) throw new RefreshFailed('the session ended while its token was being refreshed');
      if (isNewer(latest, user)) return latest;
    }
    throw new RefreshFailed('timed out waiting for another gateway replica to refresh the token');
  }

  async function refreshOnce(sessionId: string, user: SessionUser): Promise<SessionUser> {
    const lockKey = `lock:refresh:${sessionId}`;
    const lockValue = randomUUID();
    if (!(await options.state.setIfAbsent(lockKey, lockValue, LOCK_TTL_MS))) return waitForOtherReplica(sessionId, user);
    try {
      const stored = await loadSession(options.store, sessionId);
      if (!stored?.user) throw new RefreshFailed('the session ended');
      if (isNewer(stored.user, user)) return stored.user; // another replica finished just before us
      const next = await options.refresh(stored.user);
      // A logout may have ended the session while the IdP was answering: its new tokens must not revive it.
      if (!(await saveUnlessEnded(options.store, sessionId, { ...stored, user: next }))) {
        throw new RefreshFailed('the session ended while its token was being refreshed');
      }
      return next;
    } finally {
      await options.state.deleteIfEquals(lockKey, lockValue);
    }
  }

  return function refreshed(sessionId: string, user: SessionUser): Promise<SessionUser> {
    let pending = inFlight.get(sessionId);
    if (!pending) {
      pending = refreshOnce(sessionId, user).finally(() => inFlight.delete(sessionId));
      inFlight.set(sessionId, pending);
    }
    return pending;
  };
}
