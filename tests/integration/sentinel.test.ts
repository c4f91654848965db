import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { startSentinelGroup, type SentinelGroup } from '../support/sentinel.js';
import { startSessionStack, type SessionStack, signedInBrowser } from '../support/session-stack.js';

/**
 * Redis Sentinel for real: a primary, a replica and three sentinels (Debian's redis-server in
 * sentinel mode), two gateway replicas configured with REDIS_SENTINELS. The primary is killed
 * (SIGKILL) mid-run: the sentinels promote the replica, the gateways follow by themselves, and the
 * sessions written before the crash are still valid (they had been replicated).
 */
let group: SentinelGroup;
let stack: SessionStack;
const json = { accept: 'application/json' };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Sessions answer again within this long after the primary died (failover ≈ 2-4 s here). */
const RECOVERY_BOUND_MS = 20_000;

beforeAll(async () => {
  group = await startSentinelGroup();
  stack = await startSessionStack({
    replicas: 2,
    env: { REDIS_URL: '', REDIS_SENTINELS: group.sentinelsEnv, REDIS_SENTINEL_NAME: group.name },
  });
}, 90_000);

afterAll(async () => {
  await stack?.stop();
  await group?.stop();
});

const signedIn = (username: string) => signedInBrowser(stack.gateways[0]!.url, username);

it('keeps sessions through a primary failover, without restarting the gateways', async () => {
  const [a, b] = stack.gateways.map((gateway) => gateway.url) as [string, string];
  expect(await (await fetch(`${a}/readyz`)).json()).toMatchObject({ checks: { redis: { ok: true } } });
  const browser = await signedIn('viewer');
  expect((await browser.request(`${b}/pacs/dicom-web/studies`, { headers: json })).status).toBe(200);
  await group.waitForReplication(); // asynchronous replication: writes not yet replicated would be lost

  const killedAt = Date.now();
  group.killPrimary();
  const seen: Array<{ at: number; replica: string; status: number }> = [];
  let recoveredAt: number | undefined;
  while (Date.now() - killedAt < RECOVERY_BOUND_MS) {
    const statuses = await Promise.all(
      [a, b].map(async (url) => {
        const status = (await browser.request(`${url}/pacs/dicom-web/studies`, { headers: json })).status;
        seen.push({ at: Date.now() - killedAt, replica: url === a ? 'A' : 'B', status });
        return status;
      }),
    );
    if (statuses.every((status) => status === 200) && seen.some((entry) => entry.status !== 200)) {
      recoveredAt = Date.now();
      break;
    }
    await sleep(100);
  }
  const summary = seen.map((entry) => `${entry.at}ms ${entry.replica}:${entry.status}`).join(', ');
  console.log(`Sentinel failover: sessions answered again after ${recoveredAt ? recoveredAt - killedAt : '(never)'} ms`);
  // While the primary is gone: fast 503, never 401 (the session is not lost) nor 500.
  expect(seen.every((entry) => entry.status === 200 || entry.status === 503)).toBe(true);
  expect({ recovered: recoveredAt !== undefined, summary }).toMatchObject({ recovered: true });
  expect(await group.reportedPrimaryPort()).toBe(group.replicaPort);

  // The old session works on both replicas, writes go to the new primary: logout on B is seen by A.
  expect((await browser.request(`${a}/auth/me`, { headers: json })).status).toBe(200);
  const logout = await browser.request(`${b}/auth/logout`, { method: 'POST', headers: { origin: stack.publicUrl } });
  expect(logout.status).toBe(302);
  expect((await browser.request(`${a}/auth/me`, { headers: json })).status).toBe(401);

  // A new sign-in after the failover works too, and /readyz is green again.
  const again = await signedIn('admin');
  expect((await again.request(`${b}/pacs-admin/system`, { headers: json })).status).toBe(200);
  expect(await (await fetch(`${b}/readyz`)).json()).toMatchObject({ status: 'ready', checks: { redis: { ok: true } } });
  expect(stack.logs.count('Redis reachable again')).toBeGreaterThanOrEqual(1);
}, 60_000);
