/**
 * Session expiry with a real Redis: an unchanged session's TTL is pushed back at most once per
 * touch interval (one Redis round trip per request instead of two), saves and destroys as before.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { SessionData } from 'express-session';
import { Redis } from 'ioredis';
import { ENDED_SESSION } from '../../src/auth/ended-session-store.js';
import { createRefresher, RefreshFailed } from '../../src/auth/refresh.js';
import { redisSharedState } from '../../src/auth/shared-state.js';
import { sessionTouchIntervalMs, ThrottledTouchRedisStore, type SessionUser } from '../../src/auth/session.js';
import { startRedis, type TestRedis } from '../support/redis.js';

let redis: TestRedis;
let client: Redis;

beforeAll(async () => {
  redis = await startRedis();
  client = new Redis(redis.url);
}, 30_000);

afterAll(async () => {
  client?.disconnect();
  await redis?.stop();
});

const session = (idleSeconds: number) =>
  ({ cookie: { originalMaxAge: idleSeconds * 1000, expires: new Date(Date.now() + idleSeconds * 1000) } }) as unknown as SessionData;

/**
 * The throttle's clock (Date) stands still unless a test moves it: "within the interval" does not
 * depend on how fast Redis answers on a loaded machine. Timers stay real, for Redis's client.
 */
const REAL_TIMERS = ['hrtime', 'nextTick', 'performance', 'queueMicrotask', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'] as const;
const stopTheClock = () => jest.useFakeTimers({ doNotFake: [...REAL_TIMERS] });
const moveTheClock = (ms: number) => jest.setSystemTime(Date.now() + ms);
afterEach(() => {
  jest.useRealTimers();
});

describe('ThrottledTouchRedisStore', () => {
  it('pushes an unchanged session’s expiry back at most once per interval', async () => {
    stopTheClock();
    const store = new ThrottledTouchRedisStore(client, 300);
    await store.set('s1', session(1800));
    expect(await client.ttl('gw:sess:s1')).toBeGreaterThan(1790);

    await client.expire('gw:sess:s1', 100); // as if time had passed
    moveTheClock(299);
    await store.touch('s1', session(1800)); // within the interval of the save: no Redis call
    expect(await client.ttl('gw:sess:s1')).toBeLessThanOrEqual(100);

    moveTheClock(1);
    await store.touch('s1', session(1800));
    expect(await client.ttl('gw:sess:s1')).toBeGreaterThan(1790);
    await client.expire('gw:sess:s1', 100);
    moveTheClock(299);
    await store.touch('s1', session(1800)); // again within the interval
    expect(await client.ttl('gw:sess:s1')).toBeLessThanOrEqual(100);
  });

  it('reads, saves and destroys sessions like connect-redis', async () => {
    const store = new ThrottledTouchRedisStore(client, 60_000);
    const data = { ...session(600), user: { sub: 'alice' } } as unknown as SessionData;
    await store.set('s2', data);
    expect(await store.get('s2')).toMatchObject({ user: { sub: 'alice' } });
    await store.destroy('s2');
    expect(await store.get('s2')).toBeNull();
    // A destroyed session's id is tracked afresh.
    await store.set('s2b', data);
    await client.expire('gw:sess:s2b', 50);
    await store.touch('s2b', session(600));
    expect(await client.ttl('gw:sess:s2b')).toBeLessThanOrEqual(50);
  });

  it('keeps the idle timeout within 10 % (at most a minute early)', () => {
    expect(sessionTouchIntervalMs(1800)).toBe(60_000);
    expect(sessionTouchIntervalMs(300)).toBe(30_000);
  });
});

describe('ended sessions stay ended', () => {
  const user = (accessExpiresAt: number) => ({ principal: { sub: 'alice' }, tokens: { accessExpiresAt, lifetimeMs: 300_000 }, signedInAt: Date.now() }) as unknown as SessionUser;

  it('a save or touch after the destroy (a request that began before the logout) does not bring it back', async () => {
    const store = new ThrottledTouchRedisStore(client, 0, 3600);
    await store.set('e1', { ...session(1800), user: user(1) } as unknown as SessionData);
    await store.destroy('e1');
    expect(await client.get('gw:sess:e1')).toBe(ENDED_SESSION);
    expect(await client.ttl('gw:sess:e1')).toBeGreaterThan(3590); // remembered for SESSION_MAX_SECONDS

    await store.set('e1', { ...session(1800), user: user(2) } as unknown as SessionData);
    await store.touch('e1', session(60));
    expect(await store.get('e1')).toBeNull();
    expect(await client.get('gw:sess:e1')).toBe(ENDED_SESSION);
    expect(await client.ttl('gw:sess:e1')).toBeGreaterThan(3590); // the touch did not shorten the marker
    expect(await store.saveUnlessEnded('e1', session(1800))).toBe(false);
  });

  it('a token refresh that completes after the session ended fails instead of saving it', async () => {
    const store = new ThrottledTouchRedisStore(client, 60_000, 3600);
    await store.set('e2', { ...session(1800), user: user(Date.now() + 1000) } as unknown as SessionData);
    let answer: (next: SessionUser) => void = () => {};
    let asked: () => void = () => {};
    const idpAsked = new Promise<void>((resolve) => (asked = resolve));
    const refreshed = createRefresher({
      store,
      state: redisSharedState(client),
      refresh: () => {
        asked();
        return new Promise<SessionUser>((resolve) => (answer = resolve));
      },
    });
    const pending = refreshed('e2', user(Date.now() + 1000));
    await idpAsked;
    await store.destroy('e2'); // the back-channel logout, while the IdP answers
    answer(user(Date.now() + 300_000));
    await expect(pending).rejects.toThrow(RefreshFailed);
    expect(await client.get('gw:sess:e2')).toBe(ENDED_SESSION);
  });
});
