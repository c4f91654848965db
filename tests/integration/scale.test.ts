import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { startDevIdp, type DevIdp } from '../../src/devidp/server.js';
import { freePort } from '../support/free-port.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { signOutAtIdp } from '../support/idp-sign-out.js';
import { startLoadBalancer, type TestLoadBalancer } from '../support/load-balancer.js';
import { startOrthanc, type TestOrthanc } from '../support/orthanc.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { LogSink, signedInBrowser } from '../support/session-stack.js';

/**
 * Scale-out as docker-compose.replicas.yml runs it: two gateway replicas sharing one Redis, behind
 * the compose file's own nginx configuration (docker/nginx-replicas.conf, round robin, no sticky
 * sessions), PUBLIC_URL = the load balancer. Whatever replica a request lands on, sessions, logout,
 * back-channel logout and rate limits behave as with one gateway. (Refresh single-flight across
 * replicas: session-refresh.test.ts; Redis down: browser-sessions.test.ts.)
 */
const LOGIN_LIMIT = 10;
let idp: DevIdp;
let orthanc: TestOrthanc;
let redis: TestRedis;
let lb: TestLoadBalancer;
let publicUrl: string;
const replicas: Array<{ name: 'A' | 'B'; gateway: TestGateway; logs: LogSink }> = [];
const json = { accept: 'application/json' };

beforeAll(async () => {
  const lbPort = await freePort();
  publicUrl = `http://127.0.0.1:${lbPort}`;
  [idp, orthanc, redis] = await Promise.all([startDevIdp({ appOrigin: publicUrl }), startOrthanc(), startRedis()]);
  const env = {
    PUBLIC_URL: publicUrl,
    TRUST_PROXY: 'true',
    OIDC_ISSUER: idp.issuer,
    OIDC_CLIENT_SECRET: idp.realm.clients.find((client) => client.clientId === 'orthanc-gateway')?.secret,
    ORTHANC_URL: orthanc.url,
    ORTHANC_USERNAME: orthanc.username,
    ORTHANC_PASSWORD: orthanc.password,
    REDIS_URL: redis.url,
    SESSION_SECRET: 'scale-test-session-secret-0123456789abcdef0123',
    LOG_LEVEL: 'info',
    RATE_LIMIT_LOGIN_PER_MINUTE: String(LOGIN_LIMIT),
    RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '1000',
  };
  for (const name of ['A', 'B'] as const) {
    const logs = new LogSink();
    replicas.push({ name, gateway: await startTestGateway({ ...env, PORT: String(await freePort()) }, { logDestination: logs }), logs });
  }
  lb = await startLoadBalancer(replicas.map((replica) => replica.gateway.url), lbPort);
}, 60_000);

afterAll(async () => {
  await lb?.stop();
  await Promise.all(replicas.map((replica) => replica.gateway.close(1000)));
  await Promise.allSettled([idp?.stop(), orthanc?.stop(), redis?.stop()]);
});

const [urlA, urlB] = [() => replicas[0]!.gateway.url, () => replicas[1]!.gateway.url];
/** Which replica answered requests for `path` (from each replica's access log). */
const servedBy = (path: string, status?: number) =>
  replicas
    .filter((replica) => replica.logs.lines.some((line) => line['msg'] === 'request' && line['path'] === path && (status === undefined || line['status'] === status)))
    .map((replica) => replica.name);
const requestCount = (replica: (typeof replicas)[number], path: string) =>
  replica.logs.lines.filter((line) => line['msg'] === 'request' && line['path'] === path).length;

const signedIn = (username: string) => signedInBrowser(publicUrl, username);

describe('two replicas behind the load balancer', () => {
  it('completes a sign-in started on one replica on the other, and serves the session from both', async () => {
    for (const replica of replicas) replica.logs.lines.length = 0;
    const browser = await signedIn('viewer');
    // Round robin: /auth/login and /auth/callback (consecutive through nginx) hit different replicas.
    const [login] = servedBy('/auth/login', 302);
    const [callback] = servedBy('/auth/callback', 302);
    expect(login).toBeDefined();
    expect(callback).toBeDefined();
    expect(login).not.toBe(callback);

    const statuses = await Promise.all(
      Array.from({ length: 10 }, () => browser.request(`${publicUrl}/pacs/dicom-web/studies`, { headers: json }).then((r) => r.status)),
    );
    expect(statuses).toEqual(Array(10).fill(200));
    for (const replica of replicas) expect(requestCount(replica, '/pacs/dicom-web/studies')).toBeGreaterThan(0);
  });

  it('logs out on B, and A refuses the session at once', async () => {
    const browser = await signedIn('uploader');
    for (const url of [urlA(), urlB()]) expect((await browser.request(`${url}/auth/me`, { headers: json })).status).toBe(200);
    const logout = await browser.request(`${urlB()}/auth/logout`, { method: 'POST', headers: { origin: publicUrl } });
    expect(logout.status).toBe(302);
    expect((await browser.request(`${urlA()}/pacs/dicom-web/studies`, { headers: json })).status).toBe(401);
    expect((await browser.request(`${publicUrl}/auth/me`, { headers: json })).status).toBe(401);
  });

  it('ends the session on every replica when one of them receives the back-channel logout', async () => {
    const browser = await signedIn('admin');
    for (const url of [urlA(), urlB()]) expect((await browser.request(`${url}/pacs-admin/system`, { headers: json })).status).toBe(200);
    for (const replica of replicas) replica.logs.lines.length = 0;
    await signOutAtIdp(browser, idp.issuer); // the IdP posts the logout token to PUBLIC_URL (nginx → one replica)
    const receivers = replicas.filter((replica) => replica.logs.lines.some((line) => line['msg'] === 'back-channel logout' && line['ended'] === 1));
    expect(receivers).toHaveLength(1);
    const other = replicas.find((replica) => replica !== receivers[0])!;
    expect((await browser.request(`${other.gateway.url}/pacs-admin/system`, { headers: json })).status).toBe(401);
    expect((await browser.request(`${receivers[0]!.gateway.url}/auth/me`, { headers: json })).status).toBe(401);
  });

  // Last: it exhausts the sign-in limit of 127.0.0.1 for a minute.
  it('shares rate-limit counters: the limit holds for both replicas together, and X-Forwarded-For cannot reset it', async () => {
    const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    try {
      const keys = await client.keys('gw:rl:login*');
      if (keys.length > 0) await client.del(...keys);
    } finally {
      client.disconnect();
    }
    for (const replica of replicas) replica.logs.lines.length = 0;
    const statuses: number[] = [];
    for (let attempt = 0; attempt < LOGIN_LIMIT + 4; attempt++) {
      const response = await fetch(`${publicUrl}/auth/login?returnTo=/`, {
        redirect: 'manual',
        headers: { 'x-forwarded-for': `203.0.113.${attempt}` }, // spoofed: nginx replaces it with the real peer
      });
      statuses.push(response.status);
      await response.body?.cancel();
    }
    expect(statuses).toEqual([...Array(LOGIN_LIMIT).fill(302), ...Array(4).fill(429)]);
    for (const replica of replicas) expect(requestCount(replica, '/auth/login')).toBeGreaterThanOrEqual(LOGIN_LIMIT / 2);
    for (const url of [urlA(), urlB()]) expect((await fetch(`${url}/auth/login`, { redirect: 'manual' })).status).toBe(429);
  });
});
