import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http, { type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeProtectedHeader } from 'jose';
import { loadRealm } from '../../src/devidp/realm.js';
import { startDevIdp, type DevIdp } from '../../src/devidp/server.js';
import { makeSeries } from '../support/dicom.js';
import { signInWithCodeFlow } from '../support/dev-idp-login.js';
import { freePort } from '../support/free-port.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { Browser, left } from '../support/http-browser.js';
import { startOrthanc, uploadInstances, type TestOrthanc } from '../support/orthanc.js';
import { waitFor } from '../support/process.js';
import { rawRequest } from '../support/raw-http.js';
import { DEV_PASSWORDS, LogSink } from '../support/session-stack.js';
import { startTestIssuer, type TestIssuer } from '../support/test-issuer.js';

/**
 * Faults of the gateway's neighbours not covered elsewhere (Redis down: browser-sessions.test.ts;
 * Orthanc down at start / stalled: upstream-failures.test.ts; IdP down at start for Bearer:
 * bearer-tokens.test.ts; refresh failing: session-refresh.test.ts):
 *  - Orthanc killed in the middle of a large WADO-RS download, clients that stop reading or leave:
 *    downloads end cleanly on both sides, no socket is left behind, memory stays flat;
 *  - the IdP late at start, stopped mid-run, and rotating its signing keys.
 */
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const MB = 1024 * 1024;

/** Sockets in any state but LISTEN and TIME_WAIT whose remote port is `port` (the client ends of connections to it). */
function openConnectionsTo(port: number): number {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  let count = 0;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const [, , remote, state] = line.trim().split(/\s+/);
      if (remote?.endsWith(`:${hex}`) && state !== '0A' && state !== '06') count += 1;
    }
  }
  return count;
}

let gc: () => void = () => undefined;
/** Heap and buffers of this process (the gateway runs in it) after two full garbage collections. */
function settledMemory(): number {
  gc();
  gc();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

interface Download {
  res: IncomingMessage;
  /** Bytes received so far. */
  bytes(): number;
  /** Resolves once at least `count` bytes arrived, then pauses the stream. */
  readUntil(count: number): Promise<void>;
  /** Reads to the end: `complete` false when the connection was cut before the response ended. */
  finish(): Promise<{ complete: boolean; bytes: number }>;
}

/** A WADO-RS study retrieve over a fresh connection (no keep-alive pool hides sockets). */
function startDownload(baseUrl: string, path: string, token: string): Promise<Download> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: hostname, port, path, agent: false, headers: { authorization: `Bearer ${token}`, accept: 'multipart/related; type="application/dicom"' } },
      (res) => {
        let bytes = 0;
        let waiter: { count: number; resolve: () => void } | undefined;
        res.pause();
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (waiter && bytes >= waiter.count) {
            res.pause();
            waiter.resolve();
            waiter = undefined;
          }
        });
        const ended = new Promise<{ complete: boolean; bytes: number }>((done) => {
          res.once('end', () => done({ complete: res.complete, bytes }));
          res.once('error', () => done({ complete: false, bytes }));
          res.once('close', () => done({ complete: res.complete, bytes }));
        });
        resolve({
          res,
          bytes: () => bytes,
          readUntil: (count) =>
            new Promise<void>((done) => {
              waiter = { count, resolve: done };
              res.resume();
            }),
          finish: () => {
            res.resume();
            return ended;
          },
        });
      },
    );
    req.on('error', reject);
  });
}

describe('Orthanc faults during large downloads', () => {
  let orthanc: TestOrthanc;
  let orthancDir: string;
  let orthancPort: number;
  let issuer: TestIssuer;
  let gateway: TestGateway;
  let token: string;
  let studyPath: string;
  let studyBytes = 0;

  const connections = () =>
    new Promise<number>((resolve, reject) => gateway.server.getConnections((error, count) => (error ? reject(error) : resolve(count))));
  /** Nothing left open: no client connection to the gateway, no gateway connection to Orthanc. */
  const noOpenSockets = () =>
    waitFor(async () => openConnectionsTo(orthancPort) === 0 && openConnectionsTo(new URL(gateway.url).port as unknown as number) === 0 && (await connections()) === 0, {
      what: 'every connection to the gateway and to Orthanc to be closed',
      timeoutMs: 8000,
      intervalMs: 100,
    });

  beforeAll(async () => {
    v8.setFlagsFromString('--expose-gc');
    gc = vm.runInNewContext('gc') as () => void;
    orthancDir = await mkdtemp(join(tmpdir(), 'orthanc-faults-'));
    orthancPort = await freePort();
    const users = { 'svc-faults': 'faults-service-password-0123456789' };
    [orthanc, issuer] = await Promise.all([startOrthanc({ port: orthancPort, dir: orthancDir, users }), startTestIssuer()]);
    // 32 CT slices of 1024×1024×16 bit: a 64 MB study, several times what socket buffers hold.
    const study = makeSeries({ modality: 'CT', patientName: 'Large^Download', patientId: 'P-LARGE', instances: 32, rows: 1024, columns: 1024 });
    await uploadInstances(orthanc, study.files);
    studyBytes = study.files.reduce((sum, file) => sum + file.length, 0);
    studyPath = `/pacs/dicom-web/studies/${study.studyInstanceUid}`;
    token = await issuer.token('viewer', ['pacs-viewer']);
    gateway = await startTestGateway({
      OIDC_ISSUER: issuer.issuer,
      ORTHANC_URL: orthanc.url,
      ORTHANC_USERNAME: orthanc.username,
      ORTHANC_PASSWORD: orthanc.password,
    });
  }, 120_000);

  afterAll(async () => {
    await gateway?.close(1000);
    await Promise.allSettled([orthanc?.stop(), issuer?.stop()]);
    if (orthancDir) await rm(orthancDir, { recursive: true, force: true });
  });

  it('streams to a slow client with bounded memory (backpressure), then completes', async () => {
    const before = settledMemory();
    const download = await startDownload(gateway.url, studyPath, token);
    expect(download.res.statusCode).toBe(200);
    await download.readUntil(2 * MB);
    await sleep(1500); // the client reads nothing for a while: the gateway must not buffer the study meanwhile
    const whilePaused = settledMemory() - before;
    const result = await download.finish();
    console.log(`slow client: ${(whilePaused / MB).toFixed(1)} MB more heap+buffers while paused; study ${(studyBytes / MB).toFixed(0)} MB`);
    expect(result).toEqual({ complete: true, bytes: expect.any(Number) });
    expect(result.bytes).toBeGreaterThan(studyBytes);
    expect(whilePaused).toBeLessThan(studyBytes / 3);
    await noOpenSockets();
  }, 60_000);

  it('aborts the Orthanc request when clients leave mid-download: no hung sockets, no memory growth', async () => {
    const warmUp = await startDownload(gateway.url, studyPath, token);
    await warmUp.readUntil(MB);
    warmUp.res.destroy();
    await noOpenSockets();
    const before = settledMemory();
    for (let round = 0; round < 8; round++) {
      const download = await startDownload(gateway.url, studyPath, token);
      await download.readUntil(MB + round * 256 * 1024);
      download.res.destroy(); // the client goes away: closes its connection mid-body
    }
    await noOpenSockets(); // the gateway closed its Orthanc connections too
    const growth = settledMemory() - before;
    console.log(`8 abandoned downloads: ${(growth / MB).toFixed(1)} MB heap+buffers growth`);
    expect(growth).toBeLessThan(16 * MB);
    const qido = await rawRequest(gateway.url, '/pacs/dicom-web/studies', { headers: { authorization: `Bearer ${token}` } });
    expect(qido.status).toBe(200);
  }, 60_000);

  it('cuts the client download cleanly when Orthanc dies mid-stream, answers 502 meanwhile, and recovers', async () => {
    const download = await startDownload(gateway.url, studyPath, token);
    expect(download.res.statusCode).toBe(200);
    await download.readUntil(256 * 1024);
    await sleep(300);
    process.kill(orthanc.pid, 'SIGKILL');
    const killedAt = Date.now();
    const result = await download.finish();
    console.log(`Orthanc killed mid-download: client got ${(result.bytes / MB).toFixed(1)} of ${(studyBytes / MB).toFixed(0)} MB, complete=${result.complete}`);
    // Cut, not silently truncated: the response never ends as complete, and the client is not left hanging.
    expect(result.complete).toBe(false);
    expect(result.bytes).toBeLessThan(studyBytes);
    expect(Date.now() - killedAt).toBeLessThan(10_000);

    expect((await rawRequest(gateway.url, '/healthz')).status).toBe(200);
    const down = await rawRequest(gateway.url, '/pacs/dicom-web/studies', { headers: { authorization: `Bearer ${token}` } });
    expect(down.status).toBe(502);
    expect(JSON.parse(down.body)).toMatchObject({ error: 'bad_gateway', requestId: expect.any(String) });
    await noOpenSockets();

    await orthanc.stop();
    orthanc = await startOrthanc({ port: orthancPort, dir: orthancDir, users: { [orthanc.username]: orthanc.password } });
    const again = await startDownload(gateway.url, studyPath, token);
    const full = await again.finish();
    expect(full.complete).toBe(true);
    expect(full.bytes).toBeGreaterThan(studyBytes);
    await noOpenSockets();
  }, 90_000);
});

describe('identity provider faults', () => {
  const clientSecret = loadRealm().clients.find((client) => client.clientId === 'orthanc-gateway')?.secret;
  const JWKS_CACHE_SECONDS = 2;
  const navigation = { accept: 'text/html', 'sec-fetch-mode': 'navigate' };
  let idpPort: number;
  let idp: DevIdp | undefined;
  let orthanc: TestOrthanc;
  let gateway: TestGateway;
  const logs = new LogSink();

  const startIdp = async () => {
    idp = await startDevIdp({ port: idpPort, appOrigin: gateway.url });
    return idp;
  };
  const tokenFor = async (username: string) =>
    (
      await signInWithCodeFlow({
        issuer: idp!.issuer,
        clientId: 'orthanc-gateway',
        clientSecret,
        redirectUri: `${gateway.url}/auth/callback`,
        username,
        password: DEV_PASSWORDS[username] ?? '',
      })
    ).access_token;
  const qido = (accessToken: string) => rawRequest(gateway.url, '/pacs/dicom-web/studies', { headers: { authorization: `Bearer ${accessToken}` } });

  beforeAll(async () => {
    idpPort = await freePort();
    orthanc = await startOrthanc();
    gateway = await startTestGateway(
      {
        OIDC_ISSUER: `http://127.0.0.1:${idpPort}/realms/orthanc`, // nothing listens there yet
        OIDC_CLIENT_SECRET: clientSecret,
        ORTHANC_URL: orthanc.url,
        ORTHANC_USERNAME: orthanc.username,
        ORTHANC_PASSWORD: orthanc.password,
        JWKS_CACHE_SECONDS: String(JWKS_CACHE_SECONDS),
        LOG_LEVEL: 'info',
      },
      { logDestination: logs },
    );
  }, 60_000);

  afterAll(async () => {
    await gateway?.close(1000);
    await Promise.allSettled([idp?.stop(), orthanc?.stop()]);
  });

  it('starts while the IdP is late: /readyz and sign-in say so, and it recovers by itself', async () => {
    const readiness = await rawRequest(gateway.url, '/readyz');
    expect(readiness.status).toBe(503);
    expect(JSON.parse(readiness.body)).toMatchObject({
      status: 'not_ready',
      checks: { identityProvider: { ok: false, error: expect.stringContaining('discovery') }, orthanc: { ok: true } },
    });
    const login = await rawRequest(gateway.url, '/auth/login?returnTo=/', { headers: navigation });
    expect(login.status).toBe(503);
    expect(login.headers['content-type']).toMatch(/^text\/html/);
    expect(login.body).toContain('<h1>Identity provider unavailable</h1>');
    expect(login.headers['retry-after']).toBeDefined();

    await startIdp();
    // Discovery and keys are retried in the background: no request needed to recover.
    await waitFor(() => logs.count('identity provider reachable: discovery and signing keys loaded') > 0, {
      what: 'the background retry to reach the IdP',
      timeoutMs: 12_000,
      intervalMs: 100,
    });
    expect((await rawRequest(gateway.url, '/readyz')).status).toBe(200);
    const browser = new Browser();
    const step = await browser.login(new URL('/auth/login?returnTo=/auth/me', gateway.url), 'viewer', DEV_PASSWORDS['viewer']!, []);
    expect(step).toMatchObject({ kind: 'page', status: 200 });
    expect((await qido(await tokenFor('viewer'))).status).toBe(200);
  }, 60_000);

  it('accepts a new signing key on first sight (sign-in and Bearer) and refuses a removed key after the cache window', async () => {
    // Three tokens of the current key; only the first is shown to the gateway now.
    const [seen, withinWindow, afterWindow] = [await tokenFor('viewer'), await tokenFor('viewer'), await tokenFor('viewer')];
    expect((await qido(seen)).status).toBe(200);
    const cooldown = JWKS_CACHE_SECONDS * 1000 + 300; // at most one key-set download per min(30 s, JWKS_CACHE_SECONDS)

    // Sign-in: the ID and access tokens are the first the gateway sees of the new key.
    await idp!.rotateKeys();
    await sleep(cooldown);
    const browser = new Browser();
    const step = await browser.login(new URL('/auth/login?returnTo=/auth/me', gateway.url), 'admin', DEV_PASSWORDS['admin']!, []);
    expect(step).toMatchObject({ kind: 'page', status: 200 });

    // Bearer: a token of yet another new key.
    const newestKid = await idp!.rotateKeys();
    const rotated = await tokenFor('viewer');
    expect(decodeProtectedHeader(rotated).kid).toBe(newestKid);
    await sleep(cooldown);
    expect((await qido(rotated)).status).toBe(200);

    idp!.retireOldKeys();
    expect((await qido(withinWindow)).status).toBe(200); // the cached key set still holds the old keys
    await sleep(cooldown);
    const refused = await qido(afterWindow);
    expect(refused.status).toBe(401);
    expect(refused.headers['www-authenticate']).toContain('error="invalid_token"');
    // A token verified shortly before its key was removed keeps working while its verified-token cache entry lasts (≤ 60 s).
    expect((await qido(seen)).status).toBe(200);
    expect((await qido(rotated)).status).toBe(200);
  }, 60_000);

  it('keeps validating Bearer tokens from the last key set while the IdP is down, and shows a clear sign-in page', async () => {
    const unseen = await tokenFor('viewer');
    // A sign-in the IdP already approved, whose callback arrives while the IdP is down.
    const browser = new Browser();
    const callback = left(
      await browser.login(new URL('/auth/login?returnTo=/', gateway.url), 'viewer', DEV_PASSWORDS['viewer']!, [`${gateway.url}/auth/callback`]),
    );
    await idp!.stop();
    idp = undefined;
    // Past the cache window (the key set cannot be refreshed) and past the 5 s a successful IdP probe is trusted.
    await sleep(Math.max(JWKS_CACHE_SECONDS * 1000, 5000) + 300);

    expect((await qido(unseen)).status).toBe(200);
    const login = await rawRequest(gateway.url, '/auth/login?returnTo=/', { headers: navigation });
    expect(login.status).toBe(503);
    expect(login.body).toContain('<h1>Identity provider unavailable</h1>');
    const completed = await browser.request(callback.href);
    const page = await completed.text();
    expect({ status: completed.status, page }).toMatchObject({ status: 503, page: expect.stringContaining('<h1>Identity provider unavailable</h1>') });
    // Readiness keeps the replica in the load balancer: Bearer traffic and sessions still work.
    expect((await rawRequest(gateway.url, '/readyz')).status).toBe(200);

    // The IdP returns (the dev IdP with new keys): sign-in works again without restarting the gateway.
    await startIdp();
    await waitFor(
      async () => {
        const again = new Browser();
        const step = await again.login(new URL('/auth/login?returnTo=/auth/me', gateway.url), 'admin', DEV_PASSWORDS['admin']!, []);
        return step.kind === 'page' && step.status === 200;
      },
      { what: 'sign-in to work again once the IdP is back', timeoutMs: 15_000, intervalMs: 500 },
    );
  }, 60_000);
});
