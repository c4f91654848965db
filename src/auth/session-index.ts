import type { SessionData, Store } from 'express-session';
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
    async remove(sessionId: string, target: LogoutTarget): Promise<void> {
      await Promise.all(keys(target).map((key) => state.removeFromSet(key, sessionId)));
    },
    /** The users (`sub`) of the target's sessions. */
    async subsOf(target: LogoutTarget): Promise<string[]> {
      const sessionIds = (await Promise.all(keys(target).map((key) => state.setMembers(key)))).flat();
      const sessions = await Promise.all(sessionIds.map(load));
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
