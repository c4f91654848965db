import { Redis } from 'ioredis';
import type { Logger } from '../observability/logger.js';
import type { RedisClient } from './redis.js';
import type { InvalidationTag, SessionCache } from './session-cache.js';

/** The deployment's channel, under the same prefix as its keys (`gw:`). */
export const INVALIDATION_CHANNEL = 'gw:session-invalidation';
const RESUBSCRIBE_MS = 5000;
const WARN_EVERY_MS = 10_000;

export interface SessionInvalidation {
  /** Drops the tag's entries here at once, then tells the other replicas; never throws (their entries expire on their own). */
  publish(tag: InvalidationTag): Promise<void>;
  close(): void;
}

const isTag = (message: string): message is InvalidationTag => /^(session|link|creator):./.test(message);

/**
 * Invalidation of cached sessions across replicas over Redis pub/sub. Delivery is best effort: a
 * message lost while the subscription is down leaves other replicas' entries to expire by
 * themselves (SESSION_CACHE_SECONDS, the staleness bound), and every (re)subscription clears this
 * replica's cache since messages may have been missed meanwhile. Errors are logged, never thrown.
 */
export function createSessionInvalidation({ redis, cache, logger }: { redis: RedisClient | undefined; cache: SessionCache | undefined; logger: Logger }): SessionInvalidation {
  let lastWarning = 0;
  const warn = (error: unknown, message: string) => {
    if (Date.now() - lastWarning < WARN_EVERY_MS) return;
    lastWarning = Date.now();
    logger.warn({ err: error }, message);
  };
  const subscriber = redis && cache ? subscribe(subscriptionConnection(redis), cache, warn) : undefined;

  return {
    async publish(tag) {
      cache?.invalidate(tag);
      try {
        await redis?.publish(INVALIDATION_CHANNEL, tag);
      } catch (error) {
        warn(error, 'session invalidation not published: other replicas honour cached sessions until SESSION_CACHE_SECONDS pass');
      }
    },
    close: () => subscriber?.close(),
  };
}

/** A connection of its own (a subscribed one serves nothing else); it subscribes itself on every ready, with errors handled (ioredis's own resubscription leaves them unhandled). */
const subscriptionConnection = (redis: RedisClient): RedisClient =>
  redis instanceof Redis ? redis.duplicate({ autoResubscribe: false }) : redis.duplicate();

function subscribe(connection: RedisClient, cache: SessionCache, warn: (error: unknown, message: string) => void) {
  let retry: NodeJS.Timeout | undefined;
  const start = () => {
    clearTimeout(retry);
    connection.subscribe(INVALIDATION_CHANNEL).then(
      () => cache.clear(),
      (error: unknown) => {
        warn(error, 'session invalidation: cannot subscribe; cached sessions expire after SESSION_CACHE_SECONDS only');
        retry = setTimeout(start, RESUBSCRIBE_MS).unref();
      },
    );
  };
  connection.on('message', (channel: string, message: string) => {
    if (channel === INVALIDATION_CHANNEL && isTag(message)) cache.invalidate(message);
  });
  connection.on('error', (error: Error) => warn(error, 'session invalidation: subscription connection failed'));
  connection.on('ready', start);
  return {
    close: () => {
      clearTimeout(retry);
      connection.disconnect();
    },
  };
}
