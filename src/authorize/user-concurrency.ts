import type { RequestHandler } from 'express';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { RedisClient } from '../auth/redis.js';
import { GatewayError } from '../errors.js';
import { requestState } from '../respond/request-state.js';

/** Gives a slot back (resolves once it is back, never rejects); calling it again does nothing. */
export type Release = () => Promise<void>;

/** Counts the requests each key (a user) has in progress, up to a maximum. */
export interface ConcurrencySlots {
  /** Takes one of the key's slots: its release, or undefined when every slot is taken. */
  acquire(key: string): Promise<Release | undefined>;
}

function once(release: () => Promise<void>): Release {
  let done: Promise<void> | undefined;
  return () => (done ??= release());
}

/** Slots in this process's memory: exact, but each replica counts only its own requests. */
export function memorySlots(max: number): ConcurrencySlots {
  const inUse = new Map<string, number>();
  return {
    async acquire(key) {
      const used = inUse.get(key) ?? 0;
      if (used >= max) return undefined;
      inUse.set(key, used + 1);
      return once(async () => {
        const left = (inUse.get(key) ?? 1) - 1;
        if (left > 0) inUse.set(key, left);
        else inUse.delete(key);
      });
    },
  };
}

/** How long a user's counter outlives its last change: the slots of a replica that died mid-request come back then. */
export const SLOT_LEASE_SECONDS = 300;

/**
 * rate-limiter-flexible's Redis counter, with this script in place of its increment
 * (`customIncrTtlLuaScript`; ARGV: change, lease seconds, maximum). Unlike a rate limit, a refused
 * take leaves the counter as it was, a give-back never takes it below zero (its take may have
 * expired), and every change renews the lease. Returns `{count, ttl ms}`; a count above the
 * maximum is the library's "refused".
 */
const SLOT_SCRIPT = `
local count = tonumber(redis.call('get', KEYS[1]) or '0')
local change = tonumber(ARGV[1])
if change > 0 and count + change > tonumber(ARGV[3]) then
  return {count + change, redis.call('pttl', KEYS[1])}
end
count = math.max(count + change, 0)
if count == 0 then
  redis.call('del', KEYS[1])
  return {0, 0}
end
redis.call('set', KEYS[1], count, 'EX', ARGV[2])
return {count, tonumber(ARGV[2]) * 1000}
`;

/**
 * Slots shared by every replica through one Redis counter per user. While Redis cannot be
 * reached, slots come from `fallback` (per process), and each slot is given back where it was taken.
 */
export function redisSlots(redis: RedisClient, max: number, fallback: ConcurrencySlots): ConcurrencySlots {
  const counter = new RateLimiterRedis({
    storeClient: redis,
    keyPrefix: 'gw:concurrency',
    points: max,
    duration: SLOT_LEASE_SECONDS,
    customIncrTtlLuaScript: SLOT_SCRIPT,
  });
  return {
    async acquire(key) {
      try {
        await counter.consume(key);
      } catch (error) {
        if (error instanceof RateLimiterRes) return undefined;
        return fallback.acquire(key);
      }
      // A give-back lost to a Redis failure holds the slot until the lease ends.
      return once(() => counter.reward(key).then(() => undefined, () => undefined));
    },
  };
}

export function createConcurrencySlots(max: number, redis: RedisClient | undefined): ConcurrencySlots {
  return redis ? redisSlots(redis, max, memorySlots(max)) : memorySlots(max);
}

/**
 * USER_MAX_CONCURRENT_REQUESTS: a user (token `sub`; a share link is its own user) with `max`
 * requests in progress gets 429 for the next one, which never reaches Orthanc. The slot is given
 * back when the response ends, the client goes away or Orthanc fails: all of them close the response.
 */
export function limitUserConcurrency(slots: ConcurrencySlots, max: number): RequestHandler {
  return async (_req, res, next) => {
    const { principal } = requestState(res);
    if (!principal) return next();
    const taken = slots.acquire(principal.sub);
    res.once('close', () => void taken.then((release) => release?.()));
    if (!(await taken)) {
      throw new GatewayError('too_many_requests', `Too many requests in progress for this user (at most ${max}); retry when one has finished`, { 'retry-after': '1' });
    }
    if (!res.closed) next();
  };
}
