/**
 * In-memory storage for oidc-provider (sessions, grants, codes, tokens, interactions). One store per
 * dev IdP, shared by the provider instances it builds when keys rotate or clients change, so logins
 * survive those rebuilds.
 */
import type { Adapter, AdapterFactory, AdapterPayload } from 'oidc-provider';

interface Entry {
  payload: AdapterPayload;
  expiresAt: number;
}

export interface MemoryStore extends AdapterFactory {
  /** The live sessions of one account (id = the session's key), for the admin "sign out" control. */
  sessionsOf(accountId: string): Array<{ id: string; payload: AdapterPayload }>;
}

export function createMemoryStore(): MemoryStore {
  const entries = new Map<string, Entry>();
  const index = new Map<string, string>(); // "uid:<uid>" | "userCode:<code>" -> entry key
  const grants = new Map<string, Set<string>>(); // grantId -> entry keys

  const live = (key: string | undefined): AdapterPayload | undefined => {
    if (key === undefined) return undefined;
    const entry = entries.get(key);
    if (entry && entry.expiresAt <= Date.now()) {
      entries.delete(key);
      return undefined;
    }
    return entry?.payload;
  };

  const prune = () => {
    const now = Date.now();
    for (const [key, entry] of entries) if (entry.expiresAt <= now) entries.delete(key);
  };

  const factory = (model: string): Adapter => {
    const keyOf = (id: string) => `${model}:${id}`;
    return {
      async upsert(id, payload, expiresIn) {
        if (entries.size > 5000) prune();
        const key = keyOf(id);
        const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : Infinity;
        entries.set(key, { payload, expiresAt });
        if (payload.uid && model === 'Session') index.set(`uid:${payload.uid}`, key);
        if (payload.userCode) index.set(`userCode:${payload.userCode}`, key);
        if (payload.grantId) {
          const members = grants.get(payload.grantId) ?? new Set<string>();
          members.add(key);
          grants.set(payload.grantId, members);
        }
      },
      async find(id) {
        return live(keyOf(id));
      },
      async findByUid(uid) {
        return live(index.get(`uid:${uid}`));
      },
      async findByUserCode(userCode) {
        return live(index.get(`userCode:${userCode}`));
      },
      async consume(id) {
        const payload = live(keyOf(id));
        if (payload) payload.consumed = Math.floor(Date.now() / 1000);
      },
      async destroy(id) {
        entries.delete(keyOf(id));
      },
      async revokeByGrantId(grantId) {
        for (const key of grants.get(grantId) ?? []) entries.delete(key);
        grants.delete(grantId);
      },
    };
  };
  const sessionsOf = (accountId: string) =>
    [...entries.keys()]
      .filter((key) => key.startsWith('Session:'))
      .flatMap((key) => {
        const payload = live(key);
        return payload?.accountId === accountId ? [{ id: key.slice('Session:'.length), payload }] : [];
      });
  return Object.assign(factory, { sessionsOf });
}
