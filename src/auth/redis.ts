import { Redis } from 'ioredis';
import type { Logger } from '../observability/logger.js';

/**
 * The one Redis connection of a gateway process (sessions, their index, refresh locks, replay
 * protection). Commands fail at once while Redis is unreachable instead of queueing, so session
 * routes answer 503 fast while Bearer traffic, which never touches Redis, keeps flowing; ioredis
 * reconnects by itself when Redis returns.
 */
export function createRedisClient(url: string, logger: Logger): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    commandTimeout: 2000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  });
  let lastWarning = 0;
  redis.on('error', (error: Error) => {
    if (Date.now() - lastWarning < 10_000) return;
    lastWarning = Date.now();
    logger.warn({ err: error }, 'Redis unavailable; session routes answer 503 until it returns');
  });
  return redis;
}

/** Waits until the connection is ready, up to `timeoutMs`; false when Redis is not there yet (no throw). */
export function redisReady(redis: Redis, timeoutMs: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      resolve(false);
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve(true);
    };
    redis.once('ready', onReady);
  });
}
