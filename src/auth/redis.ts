import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { RedisConnection } from '../config/config.js';
import type { Logger } from '../observability/logger.js';

/** A single-node or Sentinel-managed connection (`Redis`), or a Redis Cluster. */
export type RedisClient = Redis | Cluster;

/**
 * Commands fail at once while Redis is unreachable instead of queueing, so session routes answer
 * 503 fast while Bearer traffic, which never touches Redis, keeps flowing.
 */
const FAIL_FAST: RedisOptions = { maxRetriesPerRequest: 1, connectTimeout: 2000, commandTimeout: 2000 };
const reconnectDelay = (attempt: number) => Math.min(attempt * 200, 2000);

function connect(connection: RedisConnection): RedisClient {
  switch (connection.mode) {
    case 'single':
      return new Redis(connection.url, { ...FAIL_FAST, enableOfflineQueue: false, retryStrategy: reconnectDelay });
    case 'sentinel':
      // ioredis asks the sentinels for the current primary at every (re)connection and checks its
      // role; failoverDetector also reconnects as soon as a sentinel announces +switch-master.
      return new Redis({
        ...FAIL_FAST,
        enableOfflineQueue: false,
        retryStrategy: reconnectDelay,
        sentinels: connection.sentinels,
        name: connection.name,
        username: connection.username,
        password: connection.password,
        sentinelPassword: connection.sentinelPassword,
        failoverDetector: true,
      });
    case 'cluster':
      // Every key the gateway writes in one command or MULTI is a single key, so no hash tags are needed.
      return new Cluster(connection.nodes, {
        enableOfflineQueue: false,
        clusterRetryStrategy: reconnectDelay,
        slotsRefreshTimeout: 2000,
        redisOptions: { ...FAIL_FAST, username: connection.username, password: connection.password },
      });
  }
}

/**
 * The one Redis connection of a gateway process (sessions, their index, refresh locks, replay
 * protection, rate limits, share links). ioredis reconnects by itself when Redis returns (or, with
 * Sentinel, when a replica has been promoted).
 */
export function createRedisClient(connection: RedisConnection, logger: Logger): RedisClient {
  const redis = connect(connection);
  let lastWarning = 0;
  let failing = false;
  redis.on('error', (error: Error) => {
    failing = true;
    if (Date.now() - lastWarning < 10_000) return;
    lastWarning = Date.now();
    logger.warn({ err: error, redisMode: connection.mode }, 'Redis unavailable; session routes answer 503 until it returns');
  });
  redis.on('ready', () => {
    if (!failing) return;
    failing = false;
    lastWarning = 0;
    logger.info({ redisMode: connection.mode }, 'Redis reachable again');
  });
  return redis;
}

/** Waits until the connection is ready, up to `timeoutMs`; false when Redis is not there yet (no throw). */
export function redisReady(redis: RedisClient, timeoutMs: number): Promise<boolean> {
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
