/**
 * Session expiry with a real Redis: an unchanged session's TTL is pushed back at most once per
 * touch interval (one Redis round trip per request instead of two), saves and destroys as before.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { SessionData } from 'express-session';
import { Redis } from 'ioredis';
import { sessionTouchIntervalMs, ThrottledTouchRedisStore } from '../../src/auth/session.js';
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
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('ThrottledTouchRedisStore', () => {
  it('pushes an unchanged session’s expiry back at most once per interval', async () => {
    const store = new ThrottledTouchRedisStore(client, 300);
    await store.set('s1', session(1800));
    expect(await client.ttl('gw:sess:s1')).toBeGreaterThan(1790);

    await client.expire('gw:sess:s1', 100); // as if time had passed
    await store.touch('s1', session(1800)); // within the interval of the save: no Redis call
    expect(await client.ttl('gw:sess:s1')).toBeLessThanOrEqual(100);

    await sleep(350);
    await store.touch('s1', session(1800));
    expect(await client.ttl('gw:sess:s1')).toBeGreaterThan(1790);
    await client.expire('gw:sess:s1', 100);
    await store.touch('s1', session(1800)); // again within the interval
    expect(await client.ttl('gw:sess:s1')).toBeLessThanOrEqual(100);
  });

  it('reads, saves and destroys sessions like connect-redis', async () => {
    const store = new ThrottledTouchRedisStore(client, 60_000);
    const data = { ...session(600), user: { sub: 'alice' } } as unknown as SessionData;
    await store.set('s2', data);
    expect(await store.get('s2')).toMatchObject({ user: { sub: 'alice' } });
    await store.destroy('s2');
    expect(await client.exists('gw:sess:s2')).toBe(0);
    // After a destroy, a session with the same id is tracked afresh.
    await store.set('s2', data);
    await client.expire('gw:sess:s2', 50);
    await store.touch('s2', session(600));
    expect(await client.ttl('gw:sess:s2')).toBeLessThanOrEqual(50);
  });

  it('keeps the idle timeout within 10 % (at most a minute early)', () => {
    expect(sessionTouchIntervalMs(1800)).toBe(60_000);
    expect(sessionTouchIntervalMs(300)).toBe(30_000);
  });
});
