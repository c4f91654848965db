import type { RedisClient } from './redis.js';

/**
 * The few shared primitives sessions need beyond the session store itself — index sets (which
 * sessions belong to an IdP `sid`/`sub`), short locks (one token refresh at a time) and one-time
 * markers (logout token replay). In Redis so every gateway replica sees the same state; in memory
 * for a single development process.
 */
export interface SharedState {
  /** Sets `key` only if absent; true when this call set it. */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** Deletes a value or a set. */
  delete(key: string): Promise<void>;
  /** Deletes `key` only while it still holds `value` (releasing one's own lock). */
  deleteIfEquals(key: string, value: string): Promise<void>;
  /** Sets `key` unless it holds `unless` (a marker set by someone else that must win); true when set. */
  setUnlessEquals(key: string, value: string, unless: string, ttlMs: number): Promise<boolean>;
  addToSet(key: string, member: string, ttlMs: number): Promise<void>;
  removeFromSet(key: string, member: string): Promise<void>;
  setMembers(key: string): Promise<string[]>;
  /** Counts one more at `key` unless the count already reached `limit`; the new count, or null when it had. */
  incrementBelow(key: string, limit: number, ttlMs: number): Promise<number | null>;
}

const RELEASE_SCRIPT = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";
const INCREMENT_BELOW_SCRIPT =
  "local used = tonumber(redis.call('get', KEYS[1]) or '0') if used >= tonumber(ARGV[1]) then return -1 end " +
  "used = redis.call('incr', KEYS[1]) redis.call('pexpire', KEYS[1], ARGV[2]) return used";
const SET_UNLESS_SCRIPT = "if redis.call('get', KEYS[1]) == ARGV[2] then return 0 end redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[3]) return 1";

export function redisSharedState(redis: RedisClient, prefix = 'gw:'): SharedState {
  return {
    setIfAbsent: async (key, value, ttlMs) => (await redis.set(prefix + key, value, 'PX', ttlMs, 'NX')) === 'OK',
    get: (key) => redis.get(prefix + key),
    set: async (key, value, ttlMs) => {
      await redis.set(prefix + key, value, 'PX', ttlMs);
    },
    delete: async (key) => {
      await redis.del(prefix + key);
    },
    deleteIfEquals: async (key, value) => {
      await redis.eval(RELEASE_SCRIPT, 1, prefix + key, value);
    },
    setUnlessEquals: async (key, value, unless, ttlMs) => (await redis.eval(SET_UNLESS_SCRIPT, 1, prefix + key, value, unless, ttlMs)) === 1,
    addToSet: async (key, member, ttlMs) => {
      await redis.multi().sadd(prefix + key, member).pexpire(prefix + key, ttlMs).exec();
    },
    removeFromSet: async (key, member) => {
      await redis.srem(prefix + key, member);
    },
    setMembers: (key) => redis.smembers(prefix + key),
    incrementBelow: async (key, limit, ttlMs) => {
      const count = Number(await redis.eval(INCREMENT_BELOW_SCRIPT, 1, prefix + key, limit, ttlMs));
      return count < 0 ? null : count;
    },
  };
}

export function memorySharedState(): SharedState {
  const values = new Map<string, { value: string; expiresAt: number }>();
  const sets = new Map<string, { members: Set<string>; expiresAt: number }>();
  const live = <T extends { expiresAt: number }>(map: Map<string, T>, key: string): T | undefined => {
    const entry = map.get(key);
    if (entry && entry.expiresAt <= Date.now()) map.delete(key);
    return entry && entry.expiresAt > Date.now() ? entry : undefined;
  };
  return {
    setIfAbsent: async (key, value, ttlMs) => {
      if (live(values, key)) return false;
      values.set(key, { value, expiresAt: Date.now() + ttlMs });
      return true;
    },
    get: async (key) => live(values, key)?.value ?? null,
    set: async (key, value, ttlMs) => {
      values.set(key, { value, expiresAt: Date.now() + ttlMs });
    },
    delete: async (key) => {
      values.delete(key);
      sets.delete(key);
    },
    deleteIfEquals: async (key, value) => {
      if (live(values, key)?.value === value) values.delete(key);
    },
    setUnlessEquals: async (key, value, unless, ttlMs) => {
      if (live(values, key)?.value === unless) return false;
      values.set(key, { value, expiresAt: Date.now() + ttlMs });
      return true;
    },
    addToSet: async (key, member, ttlMs) => {
      const entry = live(sets, key) ?? { members: new Set<string>(), expiresAt: 0 };
      entry.members.add(member);
      entry.expiresAt = Date.now() + ttlMs;
      sets.set(key, entry);
    },
    removeFromSet: async (key, member) => {
      live(sets, key)?.members.delete(member);
    },
    setMembers: async (key) => [...(live(sets, key)?.members ?? [])],
    incrementBelow: async (key, limit, ttlMs) => {
      const count = Number(live(values, key)?.value ?? '0');
      if (count >= limit) return null;
      values.set(key, { value: String(count + 1), expiresAt: Date.now() + ttlMs });
      return count + 1;
    },
  };
}
