import type { RequestHandler, Response } from 'express';
import type { RedisClient } from '../auth/redis.js';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { GatewayError } from '../errors.js';

export interface RateLimits {
  /** Sign-in starts and callbacks per client IP and minute. */
  loginPerMinute: number;
  /** Failed authentications (401) per client IP and minute before that IP is refused for a while. */
  authFailuresPerMinute: number;
}

/**
 * Limiters shared by every replica through Redis (in memory without Redis; Redis failures fall
 * back to a per-process limiter instead of letting everything through).
 */
function limiter(redis: RedisClient | undefined, keyPrefix: string, points: number): RateLimiterAbstract {
  const memory = new RateLimiterMemory({ keyPrefix, points, duration: 60 });
  if (!redis) return memory;
  return new RateLimiterRedis({ storeClient: redis, keyPrefix: `gw:rl:${keyPrefix}`, points, duration: 60, insuranceLimiter: memory });
}

function tooManyRequests(res: Response, rejection: RateLimiterRes): GatewayError {
  const seconds = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
  res.setHeader('Retry-After', String(seconds));
  return new GatewayError('too_many_requests', `Too many attempts from this address; retry in ${seconds} s`);
}

const clientKey = (ip: string | undefined) => ip ?? 'unknown';

export function createRateLimits(limits: RateLimits, redis: RedisClient | undefined) {
  const logins = limiter(redis, 'login', limits.loginPerMinute);
  const authFailures = limiter(redis, 'authfail', limits.authFailuresPerMinute);

  /** Counts every sign-in start and callback of an IP. */
  const limitLogins: RequestHandler = async (req, res, next) => {
    try {
      await logins.consume(clientKey(req.ip));
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) throw tooManyRequests(res, rejection);
      throw rejection;
    }
    next();
  };

  /**
   * Refuses an IP that failed authentication too often (token guessing, a misconfigured script).
   * Each 401 is counted in the shared limiter; the verdict is kept locally until it expires, so
   * ordinary requests cost no Redis round trip.
   */
  const blockedUntil = new Map<string, number>();
  const block = (key: string, result: RateLimiterRes) => {
    if (result.consumedPoints < limits.authFailuresPerMinute) return;
    if (blockedUntil.size > 10_000) for (const [ip, until] of blockedUntil) if (until < Date.now()) blockedUntil.delete(ip);
    blockedUntil.set(key, Date.now() + result.msBeforeNext);
  };
  // One listener for all responses (it finds the response through `this`); the address is read only
  // for a 401 here, and above only while some address is blocked: most requests never compute it.
  function countFailure(this: Response): void {
    if (this.statusCode !== 401) return;
    const key = clientKey(this.req.ip);
    authFailures.penalty(key, 1).then((result) => block(key, result), () => undefined);
  }
  const limitAuthFailures: RequestHandler = (req, res, next) => {
    const until = blockedUntil.size === 0 ? undefined : blockedUntil.get(clientKey(req.ip));
    if (until !== undefined && until > Date.now()) {
      throw tooManyRequests(res, new RateLimiterRes(0, until - Date.now(), limits.authFailuresPerMinute));
    }
    res.on('finish', countFailure);
    next();
  };

  return { limitLogins, limitAuthFailures };
}

export type RateLimiting = ReturnType<typeof createRateLimits>;
