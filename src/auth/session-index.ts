import type { SessionData, Store } from 'express-session';
import { sessionStatus, type SessionStatus } from './ended-session-store.js';
import type { SharedState } from './shared-state.js';
import type { LogoutTarget } from './logout-token.js';

/**
 * Which browser sessions belong to an IdP session (`sid`) or user (`sub`), so a back-channel
 * logout can end all of them, on every replica.
 */
export function createSessionIndex(state: SharedState, store: Store, ttlSeconds: number) {
  const keys = ({ sid, sub }: LogoutTarget) => [sid && `idx:sid:${sid}`, sub && `idx:sub:${sub}`].filter((key): key is string => !!key);
  const load = (sessionId: string) =>
    new Promise<SessionData | null | undefined>((resolve, reject) => store.get(sessionId, (error, data) => (error ? reject(error) : resolve(data))));
  const destroy = (sessionId: string) =>
    new Promise<void>((resolve, reject) => store.destroy(sessionId, (error) => (error ? reject(error) : resolve())));

  return {
    async add(sessionId: string, target: LogoutTarget): Promise<void> {
      await Promise.all(keys(target).map((key) => state.addToSet(key, sessionId, ttlSeconds * 1000)));
    },
    /** Forgets a session (one that ended, unless its user signed out: a logout that follows must recognise it). */
    async remove(sessionId: string, target: LogoutTarget): Promise<void> {
      await Promise.all(keys(target).map((key) => state.removeFromSet(key, sessionId)));
    },
    /**
     * The users whose share links a logout of the target pauses: none when it only echoes the users'
     * own sign-out (no live session among those it ends, and the sessions it names — of its sid, or
     * of its sub when it has no sid — include one the user signed out of); else its sub, or the
     * users of its live sessions when it names only a sid.
     */
    async subsToPause(target: LogoutTarget): Promise<string[]> {
      const named = await state.setMembers(keys(target)[0] ?? ''); // the sid's key comes first
      const all = [...new Set((await Promise.all(keys(target).map((key) => state.setMembers(key)))).flat())];
      const statuses = new Map<string, SessionStatus>(await Promise.all(all.map(async (id) => [id, await sessionStatus(store, id)] as const)));
      const live = all.filter((id) => statuses.get(id) === 'live');
      if (live.length === 0 && named.some((id) => statuses.get(id) === 'signed-out')) return [];
      if (target.sub) return [target.sub];
      const sessions = await Promise.all(live.map(load));
      return [...new Set(sessions.flatMap((session) => session?.user?.principal.sub ?? []))];
    },
    /** Destroys every session of the target; returns how many were ended. */
    async destroyAll(target: LogoutTarget): Promise<number> {
      const sessionIds = new Set((await Promise.all(keys(target).map((key) => state.setMembers(key)))).flat());
      await Promise.all([...sessionIds].map(destroy));
      await Promise.all([...sessionIds].map((sessionId) => this.remove(sessionId, target)));
      return sessionIds.size;
    },
  };
}

export type SessionIndex = ReturnType<typeof createSessionIndex>;
