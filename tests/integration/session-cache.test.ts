import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { INVALIDATION_CHANNEL } from '../../src/auth/session-invalidation.js';
import { Browser } from '../support/http-browser.js';
import { signIn, startSessionStack, type SessionStack } from '../support/session-stack.js';

/**
 * The verified-session cache across two replicas on one Redis (README "Staleness bound"): whatever
 * ends a session on replica A reaches replica B's cache at once over pub/sub; what B never hears of
 * (a lost message, pub/sub refused) it honours at most SESSION_CACHE_SECONDS.
 */
const CACHE_SECONDS = 3;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Two replicas with SESSION_CACHE_SECONDS=3, and a Redis client of the test's own. */
function twoReplicas(env: Record<string, string> = {}) {
  const context = {} as { stack: SessionStack; redis: Redis };
  beforeAll(async () => {
    context.stack = await startSessionStack({ replicas: 2, env: { SESSION_CACHE_SECONDS: String(CACHE_SECONDS), ...env } });
    context.redis = new Redis(context.stack.redis.url);
  }, 60_000);
  afterAll(async () => {
    context.redis?.disconnect();
    await context.stack?.stop();
  });
  const replica = (index: number) => context.stack.gateways[index]!.url;
  return {
    context,
    replica,
    /** A signed-in user's session cookie, sent by hand: it stays the same after a sign-out clears the browser's. */
    async sessionCookie(username: string): Promise<{ browser: Browser; cookie: string; key: string }> {
      const browser = new Browser();
      const step = await signIn(browser, replica(0), username);
      if (step.kind !== 'page' || step.status !== 200) throw new Error(`sign-in as ${username} failed`);
      const value = browser.cookie('gw-session')!;
      const id = /^s:([^.]+)\./.exec(decodeURIComponent(value))![1]!;
      return { browser, cookie: `gw-session=${value}`, key: `gw:sess:${id}` };
    },
    search: async (index: number, cookie: string) =>
      (await fetch(`${replica(index)}/pacs/dicom-web/studies`, { headers: { cookie, accept: 'application/json' } })).status,
  };
}

describe('invalidation', () => {
  const { context, replica, sessionCookie, search } = twoReplicas();
  /** Both replicas serve the session, the second request of each from its cache. */
  async function cachedOnBoth(cookie: string): Promise<void> {
    for (const index of [0, 1]) for (let round = 0; round < 2; round++) expect(await search(index, cookie)).toBe(200);
  }

  /**
   * Asks replica `index` until it refuses the session; each answer served must have been asked
   * within the bound of `since` (a hit checks the entry after the request is sent). Returns how many were served.
   */
  async function servedWithinBound(index: number, cookie: string, since: number): Promise<number> {
    for (let served = 0; ; served++) {
      const sent = Date.now();
      if ((await search(index, cookie)) !== 200) return served;
      expect(sent - since).toBeLessThanOrEqual(CACHE_SECONDS * 1000);
      await sleep(100);
    }
  }

  async function waitForSubscribers(count: number): Promise<void> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const [, subscribers] = (await context.redis.pubsub('NUMSUB', INVALIDATION_CHANNEL)) as [string, number];
      if (subscribers >= count) return;
      if (Date.now() > deadline) throw new Error(`${subscribers} subscribers to ${INVALIDATION_CHANNEL}`);
      await sleep(200);
    }
  }

  /** Replica `index`'s session cache lookups so far, from its /metrics. */
  async function cacheLookups(index: number): Promise<{ hit: number; miss: number }> {
    const text = await (await fetch(`${replica(index)}/metrics`)).text();
    const count = (result: string) => Number(new RegExp(`^gateway_session_cache_lookups_total\\{result="${result}"\\} (\\d+)$`, 'm').exec(text)?.[1]);
    return { hit: count('hit'), miss: count('miss') };
  }

  it('/metrics counts what the cache answered and what had to be loaded', async () => {
    const { cookie } = await sessionCookie('viewer');
    const before = await cacheLookups(1);
    for (let round = 0; round < 3; round++) expect(await search(1, cookie)).toBe(200);
    const after = await cacheLookups(1);
    expect({ hit: after.hit - before.hit, miss: after.miss - before.miss }).toEqual({ hit: 2, miss: 1 });
  }, 60_000);

  it('a sign-out on replica A ends the session on replica B at once', async () => {
    const { browser, cookie } = await sessionCookie('viewer');
    await cachedOnBoth(cookie);
    const logout = await browser.request(`${replica(0)}/auth/logout`, { method: 'POST', headers: { origin: replica(0) } });
    expect(logout.status).toBe(302);
    expect(await search(1, cookie)).toBe(401);
    expect(await search(0, cookie)).toBe(401);
  }, 60_000);

  it('a back-channel logout received by replica A ends the session on replica B at once', async () => {
    const { cookie } = await sessionCookie('viewer-a');
    await cachedOnBoth(cookie);
    await context.stack.idp.endUserSessions('viewer-a');
    expect(context.stack.logs.lines.some((line) => line['msg'] === 'back-channel logout' && line['ended'] === 1)).toBe(true);
    expect(await search(1, cookie)).toBe(401);
  }, 60_000);

  it('a change no replica is told of (a lost message) is honoured at most SESSION_CACHE_SECONDS', async () => {
    const { cookie, key } = await sessionCookie('viewer-b');
    await cachedOnBoth(cookie);
    await context.redis.del(key); // the session is gone, and nobody published it
    const gone = Date.now();
    expect(await servedWithinBound(1, cookie, gone)).toBeGreaterThan(0); // served from memory: the cache is really used
    expect(await search(1, cookie)).toBe(401);
  }, 60_000);

  it('with pub/sub refused by Redis the replicas keep serving; the bound holds; subscriptions recover', async () => {
    const { browser, cookie } = await sessionCookie('admin');
    await cachedOnBoth(cookie);
    // Redis 7 closes the replicas' subscriptions once the channel is no longer allowed; resubscribing fails (NOPERM).
    await context.redis.acl('SETUSER', 'default', 'resetchannels');
    try {
      await sleep(500);
      expect(await search(1, cookie)).toBe(200);
      const logout = await browser.request(`${replica(0)}/auth/logout`, { method: 'POST', headers: { origin: replica(0) } });
      expect(logout.status).toBe(302); // the sign-out itself works; only its announcement is lost
      const loggedOut = Date.now();
      expect(await search(0, cookie)).toBe(401); // replica A dropped its own entry
      expect(await servedWithinBound(1, cookie, loggedOut)).toBeGreaterThan(0); // replica B was not told
      expect(context.stack.logs.lines.some((line) => line['level'] === 40 && String(line['msg']).startsWith('session invalidation'))).toBe(true);
    } finally {
      await context.redis.acl('SETUSER', 'default', 'allchannels');
    }
    // Both replicas subscribe again (retried every few seconds) and invalidations flow once more.
    await waitForSubscribers(2);
    const again = await sessionCookie('viewer');
    await cachedOnBoth(again.cookie);
    await again.browser.request(`${replica(0)}/auth/logout`, { method: 'POST', headers: { origin: replica(0) } });
    expect(await search(1, again.cookie)).toBe(401);
  }, 90_000);
});

describe('rolling idle timeout', () => {
  const IDLE_SECONDS = 10;
  const { context, sessionCookie, search } = twoReplicas({ SESSION_IDLE_SECONDS: String(IDLE_SECONDS) });

  it('still slides while requests are answered from the cache, and ends the session once idle', async () => {
    const { cookie, key } = await sessionCookie('viewer');
    const start = Date.now();
    for (let index = 0; Date.now() - start < (IDLE_SECONDS + 4) * 1000; index++) {
      expect(await search(index % 2, cookie)).toBe(200);
      await sleep(500);
    }
    expect(await context.redis.ttl(key)).toBeGreaterThan(IDLE_SECONDS - CACHE_SECONDS - 2);
    await sleep((IDLE_SECONDS + 1) * 1000);
    expect([await search(0, cookie), await search(1, cookie)]).toEqual([401, 401]);
  }, 60_000);
});
