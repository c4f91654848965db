import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { signOutAtIdp } from '../support/idp-sign-out.js';
import { startRedisCluster, type TestRedisCluster } from '../support/redis-cluster.js';
import { startSessionStack, type SessionStack, signedInBrowser } from '../support/session-stack.js';

/**
 * Two gateway replicas on a real three-node Redis Cluster (REDIS_CLUSTER_NODES): sessions, the
 * refresh lock (SET NX + EVAL), the back-channel logout index (MULTI on one key), rate-limit
 * counters (a Lua script) all work with keys spread over the nodes' hash slots.
 */
const TOKEN_SECONDS = 4;
let cluster: TestRedisCluster;
let stack: SessionStack;
const json = { accept: 'application/json' };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  cluster = await startRedisCluster();
  stack = await startSessionStack({ replicas: 2, accessTokenLifespan: TOKEN_SECONDS, env: { REDIS_URL: '', REDIS_CLUSTER_NODES: cluster.nodesEnv } });
}, 90_000);

afterAll(async () => {
  await stack?.stop();
  await cluster?.stop();
});

const signedIn = (username: string) => signedInBrowser(stack.gateways[0]!.url, username);

it('shares sessions, one refresh, logout and back-channel logout across replicas through the cluster', async () => {
  const [a, b] = stack.gateways.map((gateway) => gateway.url) as [string, string];
  expect(await (await fetch(`${b}/readyz`)).json()).toMatchObject({ status: 'ready', checks: { redis: { ok: true } } });

  // Sessions written by A are read by B; one refresh for parallel requests on both.
  const viewer = await signedIn('viewer');
  expect((await viewer.request(`${b}/auth/me`, { headers: json })).status).toBe(200);
  const refreshesBefore = stack.logs.count('session access token refreshed');
  await sleep((TOKEN_SECONDS - 0.7) * 1000);
  const statuses = await Promise.all(
    Array.from({ length: 20 }, (_, index) => viewer.request(`${index % 2 ? a : b}/pacs/dicom-web/studies`, { headers: json }).then((r) => r.status)),
  );
  expect(statuses).toEqual(Array(20).fill(200));
  expect(stack.logs.count('session access token refreshed') - refreshesBefore).toBe(1);

  // Logout on B ends the session on A.
  const logout = await viewer.request(`${b}/auth/logout`, { method: 'POST', headers: { origin: stack.publicUrl } });
  expect(logout.status).toBe(302);
  expect((await viewer.request(`${a}/auth/me`, { headers: json })).status).toBe(401);

  // A back-channel logout (received by A, the PUBLIC_URL) ends the session B serves.
  const admin = await signedIn('admin');
  expect((await admin.request(`${b}/auth/me`, { headers: json })).status).toBe(200);
  await signOutAtIdp(admin, stack.idp.issuer);
  expect((await admin.request(`${b}/auth/me`, { headers: json })).status).toBe(401);
  expect(stack.logs.lines.some((line) => line['msg'] === 'back-channel logout' && line['ended'] === 1)).toBe(true);

  // The keys really live in the cluster, spread over several nodes; the rate limiter used it too.
  for (const username of ['viewer', 'uploader', 'admin']) await signedIn(username); // a few live sessions (random ids, random slots)
  const sessions = await cluster.keysByNode('gw:*');
  const nodesWithKeys = Object.values(sessions).filter((keys) => keys.length > 0).length;
  expect(nodesWithKeys).toBeGreaterThanOrEqual(2);
  expect(Object.values(sessions).flat().some((key) => key.startsWith('gw:rl:login'))).toBe(true);
  expect(stack.logs.lines.filter((line) => line['msg'] === 'Redis unavailable; session routes answer 503 until it returns')).toEqual([]);
}, 60_000);
