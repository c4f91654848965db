import http from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { memorySlots, redisSlots, SLOT_LEASE_SECONDS } from '../../src/authorize/user-concurrency.js';
import { makeSeries, type GeneratedSeries } from '../support/dicom.js';
import { ACCEPT_DICOM_JSON, stowBody } from '../support/dicomweb.js';
import { freePort } from '../support/free-port.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { orthancFetch, startOrthanc, uploadInstances, type TestOrthanc } from '../support/orthanc.js';
import { waitFor } from '../support/process.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { expectGatewayAlive, NO_RATE_LIMITS } from '../support/security.js';
import { playSlotScenario, SLOT_SCENARIOS } from '../support/slot-scenarios.js';
import { startTestIssuer, type TestIssuer } from '../support/test-issuer.js';

/**
 * Per-user limits (USER_MAX_CONCURRENT_REQUESTS, QIDO_MAX_LIMIT) against a real Orthanc and a real
 * Redis: two gateway replicas share each user's request slots through Redis; a gateway without
 * Redis counts per process. Requests are held in flight as STOW-RS uploads whose body has not been
 * sent completely (Orthanc logs a request as soon as its head arrives, before the body).
 */
const MAX_CONCURRENT = 2;
const QIDO_MAX = 2;

let orthanc: TestOrthanc;
let issuer: TestIssuer;
let redis: TestRedis;
let redisClient: Redis;
let replicaA: TestGateway;
let replicaB: TestGateway;
/** No Redis, 1 slot per user, no QIDO clamp. */
let perProcess: TestGateway;
const tokens = { alice: '', bob: '' };
const studies: GeneratedSeries[] = [];
let upload: GeneratedSeries;

const orthancEnv = () => ({ ORTHANC_URL: orthanc.url, ORTHANC_USERNAME: orthanc.username, ORTHANC_PASSWORD: orthanc.password });

beforeAll(async () => {
  [orthanc, issuer, redis] = await Promise.all([startOrthanc({ verboseLog: true }), startTestIssuer(), startRedis()]);
  redisClient = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  for (let index = 0; index < 3; index++) {
    studies.push(makeSeries({ modality: 'CT', patientName: `Limit^${index}`, patientId: `P-LIMIT-${index}`, instances: 2, rows: 8, columns: 8 }));
  }
  await uploadInstances(orthanc, studies.flatMap((study) => study.files));
  upload = makeSeries({ modality: 'MR', patientName: 'Upload^Held', patientId: 'P-HELD', instances: 1, rows: 64, columns: 64 });
  const shared = { OIDC_ISSUER: issuer.issuer, ...orthancEnv(), ...NO_RATE_LIMITS };
  const replicated = { ...shared, REDIS_URL: redis.url, SESSION_SECRET: 'user-limits-test-session-secret-0123456789', USER_MAX_CONCURRENT_REQUESTS: String(MAX_CONCURRENT), QIDO_MAX_LIMIT: String(QIDO_MAX) };
  [replicaA, replicaB, perProcess] = await Promise.all([
    startTestGateway(replicated),
    startTestGateway(replicated),
    startTestGateway({ ...shared, USER_MAX_CONCURRENT_REQUESTS: '1' }),
  ]);
  tokens.alice = await issuer.token('alice', ['pacs-uploader', 'pacs-viewer'], { exp: Math.floor(Date.now() / 1000) + 3600 });
  tokens.bob = await issuer.token('bob', ['pacs-viewer'], { exp: Math.floor(Date.now() / 1000) + 3600 });
}, 60_000);

afterAll(async () => {
  await Promise.all([replicaA?.close(1000), replicaB?.close(1000), perProcess?.close(1000)]);
  redisClient?.disconnect();
  await Promise.all([orthanc?.stop(), issuer?.stop(), redis?.stop()]);
});

beforeEach(async () => {
  await orthanc.clearSeenRequests();
});

const stowPostsSeen = async () => (await orthanc.seenRequests()).filter((line) => line === 'POST /dicom-web/studies').length;

interface HeldUpload {
  /** The client goes away mid-upload. */
  abort(): void;
  /** Sends the rest of the body; resolves to the upload's status. */
  finish(): Promise<number>;
}

/**
 * A STOW-RS upload by `token` whose body is only half sent: a request in progress for as long as
 * the test wants. Resolves once Orthanc has seen it, i.e. once the gateway has taken its slot.
 */
async function holdUpload(gatewayUrl: string, token: string): Promise<HeldUpload> {
  const { body, contentType } = stowBody(upload.files);
  const before = await stowPostsSeen();
  const request = http.request(`${gatewayUrl}/pacs/dicom-web/studies`, {
    method: 'POST',
    agent: false,
    headers: { authorization: `Bearer ${token}`, 'content-type': contentType, accept: ACCEPT_DICOM_JSON, 'transfer-encoding': 'chunked' },
  });
  const status = new Promise<number>((resolve, reject) => {
    request.on('response', (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    request.on('error', reject);
  });
  status.catch(() => undefined); // an aborted upload rejects; only finish() awaits it
  request.write(body.subarray(0, body.length / 2));
  await waitFor(async () => (await stowPostsSeen()) > before, { what: 'Orthanc seeing the held upload', timeoutMs: 10_000 });
  return {
    abort: () => request.destroy(),
    finish: async () => {
      request.end(body.subarray(body.length / 2));
      return status;
    },
  };
}

const search = (gatewayUrl: string, token: string, path = '/pacs/dicom-web/studies') =>
  fetch(`${gatewayUrl}${path}`, { headers: { authorization: `Bearer ${token}`, accept: ACCEPT_DICOM_JSON } });

const slotKey = (user: string) => `gw:concurrency:sub-${user}`;

async function expectRefusedForConcurrency(response: Response): Promise<void> {
  expect(response.status).toBe(429);
  expect(response.headers.get('retry-after')).toBe('1');
  expect(await response.json()).toEqual({ error: 'too_many_requests', message: expect.stringContaining('at most'), requestId: expect.any(String) });
}

describe('USER_MAX_CONCURRENT_REQUESTS shared by replicas through Redis', () => {
  beforeEach(async () => {
    await waitFor(async () => (await redisClient.exists(slotKey('alice'))) === 0, { what: "the previous test's slots given back", timeoutMs: 10_000 });
  });

  it('at the cap on replica A, the same user is refused on replica B (429, Retry-After, never forwarded); other users are not', async () => {
    const held = [await holdUpload(replicaA.url, tokens.alice), await holdUpload(replicaA.url, tokens.alice)];
    try {
      expect(Number(await redisClient.get(slotKey('alice')))).toBe(MAX_CONCURRENT);
      const ttl = await redisClient.pttl(slotKey('alice'));
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(SLOT_LEASE_SECONDS * 1000);

      for (const gateway of [replicaB, replicaA]) await expectRefusedForConcurrency(await search(gateway.url, tokens.alice));
      expect((await orthanc.seenRequests()).filter((line) => line.startsWith('GET'))).toEqual([]);
      expect((await search(replicaB.url, tokens.bob)).status).toBe(200);
    } finally {
      for (const request of held) request.abort();
    }
  });

  it('a slot comes back when the client goes away mid-request, and when the response ends', async () => {
    const [first, second] = [await holdUpload(replicaA.url, tokens.alice), await holdUpload(replicaB.url, tokens.alice)];
    await expectRefusedForConcurrency(await search(replicaB.url, tokens.alice));

    first!.abort();
    await waitFor(async () => Number(await redisClient.get(slotKey('alice'))) === 1, { what: 'the aborted upload giving its slot back', timeoutMs: 10_000 });
    expect((await search(replicaB.url, tokens.alice)).status).toBe(200);

    const third = await holdUpload(replicaA.url, tokens.alice);
    await expectRefusedForConcurrency(await search(replicaA.url, tokens.alice));
    expect(await second!.finish()).toBe(200);
    expect(await third.finish()).toBe(200);
    await waitFor(async () => (await redisClient.exists(slotKey('alice'))) === 0, { what: 'every slot given back', timeoutMs: 10_000 });
    expect((await search(replicaA.url, tokens.alice)).status).toBe(200);
  });

  it('a slot comes back when Orthanc fails (502)', async () => {
    const deadOrthanc = await startTestGateway({
      OIDC_ISSUER: issuer.issuer,
      ...orthancEnv(),
      ORTHANC_URL: `http://127.0.0.1:${await freePort()}`,
      USER_MAX_CONCURRENT_REQUESTS: '1',
    });
    try {
      const statuses = [];
      for (let attempt = 0; attempt < 3; attempt++) statuses.push((await search(deadOrthanc.url, tokens.alice)).status);
      expect(statuses).toEqual([502, 502, 502]);
    } finally {
      await deadOrthanc.close(1000);
    }
  });

  it.each(SLOT_SCENARIOS)('the Redis counter (as the memory one): %s', async (name, steps) => {
    const slots = redisSlots(redisClient, 2, memorySlots(0)); // a fallback that refuses all: Redis must answer
    await playSlotScenario(slots, steps, `scenario-${name}-`);
  });

  it('a slot given back after its lease ended does not push the counter below zero', async () => {
    const slots = redisSlots(redisClient, 1, memorySlots(0));
    const release = await slots.acquire('expired-lease');
    await redisClient.del('gw:concurrency:expired-lease'); // as when the lease runs out
    await release!();
    expect(await redisClient.get('gw:concurrency:expired-lease')).toBeNull();
    expect(await slots.acquire('expired-lease')).toBeDefined();
    expect(await slots.acquire('expired-lease')).toBeUndefined();
  });
});

describe('USER_MAX_CONCURRENT_REQUESTS without Redis (per process)', () => {
  it('1 slot: the second request of the user is refused until the first ends', async () => {
    const held = await holdUpload(perProcess.url, tokens.alice);
    await expectRefusedForConcurrency(await search(perProcess.url, tokens.alice));
    expect((await orthanc.seenRequests()).filter((line) => line.startsWith('GET'))).toEqual([]);
    expect((await search(perProcess.url, tokens.bob)).status).toBe(200);
    held.abort();
    await waitFor(async () => (await search(perProcess.url, tokens.alice)).status === 200, { what: 'the slot coming back', timeoutMs: 10_000 });
    await expectGatewayAlive(perProcess.url);
  });
});

describe('QIDO_MAX_LIMIT: the limit Orthanc receives', () => {
  const study = () => studies[0]!;

  /** [search, the `limit` Orthanc's DICOMweb plugin received, results]. */
  const cases: Array<[string, () => string, string, number]> = [
    ['studies without limit', () => '/studies', 'limit=2', 2],
    ['studies, limit=1 kept', () => '/studies?limit=1', 'limit=1', 1],
    ['studies, limit=50 reduced', () => '/studies?limit=50&offset=0', 'limit=2', 2],
    ['studies, limit=0 ("no limit" for Orthanc)', () => '/studies?limit=0', 'limit=2', 2],
    ['series', () => '/series?Modality=CT', 'limit=2', 2],
    ['instances', () => '/instances', 'limit=2', 2],
    ['instances of a study', () => `/studies/${study().studyInstanceUid}/instances?limit=9`, 'limit=2', 2],
    ['series of a study', () => `/studies/${study().studyInstanceUid}/series`, 'limit=2', 1],
    ['instances of a series', () => `/studies/${study().studyInstanceUid}/series/${study().seriesInstanceUid}/instances`, 'limit=2', 2],
  ];

  it.each(cases.map(([name, path, limit, results]) => [name, limit, results, path] as const))('%s → Orthanc got %s, %i results', async (_name, limit, results, path) => {
    const seenBefore = (await orthanc.qidoArguments()).length;
    const response = await search(replicaA.url, tokens.bob, `/pacs/dicom-web${path()}`);
    expect(response.status).toBe(200);
    expect(((await response.json()) as unknown[]).length).toBe(results);
    await waitFor(async () => (await orthanc.qidoArguments()).length > seenBefore, { what: 'Orthanc logging the QIDO-RS arguments', timeoutMs: 5000 });
    const received = (await orthanc.qidoArguments()).slice(seenBefore);
    expect(received).toHaveLength(1);
    expect(received[0]!.filter((argument) => argument.startsWith('limit='))).toEqual([limit]);
  });

  it.each([
    ['a non-numeric limit', '/studies?limit=abc'],
    ['a negative limit', '/series?limit=-1'],
    ['a repeated limit (Orthanc would take the last)', '/studies?limit=1&limit=5000'],
  ])('%s → 400, never forwarded', async (_name, path) => {
    const response = await search(replicaA.url, tokens.bob, `/pacs/dicom-web${path}`);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: 'bad_request', message: expect.stringContaining('"limit"'), requestId: expect.any(String) });
    expect(await orthanc.seenRequests()).toEqual([]);
  });

  it('retrieves are not searches: their query is left alone', async () => {
    const seenBefore = (await orthanc.qidoArguments()).length;
    const response = await search(replicaA.url, tokens.bob, `/pacs/dicom-web/studies/${study().studyInstanceUid}/metadata`);
    expect(response.status).toBe(200);
    expect(await orthanc.seenRequests()).toEqual([`GET /dicom-web/studies/${study().studyInstanceUid}/metadata`]);
    expect((await orthanc.qidoArguments()).length).toBe(seenBefore);
  });

  it('unset (the default): searches reach Orthanc without a limit', async () => {
    const inOrthanc = ((await (await orthancFetch(orthanc, '/studies')).json()) as unknown[]).length;
    expect(inOrthanc).toBeGreaterThan(QIDO_MAX);
    const seenBefore = (await orthanc.qidoArguments()).length;
    const response = await search(perProcess.url, tokens.bob);
    expect(((await response.json()) as unknown[]).length).toBe(inOrthanc);
    await waitFor(async () => (await orthanc.qidoArguments()).length > seenBefore, { what: 'Orthanc logging the QIDO-RS arguments', timeoutMs: 5000 });
    expect((await orthanc.qidoArguments()).slice(seenBefore)).toEqual([[]]);
  });
});
