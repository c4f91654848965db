import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { makeSeries } from '../support/dicom.js';
import { stowBody } from '../support/dicomweb.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startOrthanc, type TestOrthanc } from '../support/orthanc.js';
import { waitFor } from '../support/process.js';
import { rawRequest } from '../support/raw-http.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { startTestIssuer, type TestIssuer } from '../support/test-issuer.js';

/** Rate limits (shared through Redis by two replicas) and request body limits. */
let orthanc: TestOrthanc;
let issuer: TestIssuer;
let redis: TestRedis;
let replicas: TestGateway[];
let uploader: string;

beforeAll(async () => {
  [orthanc, issuer, redis] = await Promise.all([startOrthanc(), startTestIssuer(), startRedis()]);
  const env = {
    OIDC_ISSUER: issuer.issuer,
    ORTHANC_URL: orthanc.url,
    ORTHANC_USERNAME: orthanc.username,
    ORTHANC_PASSWORD: orthanc.password,
    REDIS_URL: redis.url,
    RATE_LIMIT_LOGIN_PER_MINUTE: '3',
    RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '4',
    MAX_BODY_BYTES: '1024',
    STOW_MAX_BYTES: '60000',
  };
  replicas = [await startTestGateway(env), await startTestGateway(env)];
  uploader = await issuer.token('uploader', ['pacs-uploader', 'pacs-viewer']);
}, 60_000);

afterAll(async () => {
  await Promise.all((replicas ?? []).map((gateway) => gateway.close()));
  await Promise.all([orthanc?.stop(), issuer?.stop(), redis?.stop()]);
});

describe('body limits', () => {
  const stow = (gateway: TestGateway, body: Buffer, headers: Record<string, string>) =>
    rawRequest(gateway.url, '/pacs/dicom-web/studies', { method: 'POST', headers: { authorization: `Bearer ${uploader}`, ...headers }, body });

  it('refuses a declared upload above STOW_MAX_BYTES before Orthanc sees it', async () => {
    await orthanc.clearSeenRequests();
    const series = makeSeries({ modality: 'CT', patientName: 'Big^Upload', patientId: 'P-BIG', instances: 3, rows: 128, columns: 128 });
    const { body, contentType } = stowBody(series.files);
    expect(body.length).toBeGreaterThan(60000);
    const response = await stow(replicas[0]!, body, { 'content-type': contentType });
    expect(response.status).toBe(413);
    expect(await orthanc.seenRequests()).toEqual([]);
  });

  it('stops a chunked upload that grows past STOW_MAX_BYTES with 413', async () => {
    const series = makeSeries({ modality: 'CT', patientName: 'Big^Chunked', patientId: 'P-BIGC', instances: 3, rows: 128, columns: 128 });
    const { body, contentType } = stowBody(series.files);
    const response = await stow(replicas[1]!, body, { 'content-type': contentType, 'transfer-encoding': 'chunked' }).catch((error: Error) => ({
      status: -1,
      error,
    }));
    // The gateway answers 413 and closes; a client still sending may see the connection reset instead.
    expect([413, -1]).toContain(response.status);
    const stored = await fetch(`${replicas[0]!.url}/pacs/dicom-web/studies?PatientID=P-BIGC`, { headers: { authorization: `Bearer ${uploader}` } });
    expect(await stored.json()).toEqual([]);
  });

  it('accepts an upload within the limit', async () => {
    const series = makeSeries({ modality: 'MR', patientName: 'Small^Upload', patientId: 'P-SMALL', instances: 1, rows: 32, columns: 32 });
    const { body, contentType } = stowBody(series.files);
    expect((await stow(replicas[0]!, body, { 'content-type': contentType })).status).toBe(200);
  });

  it('refuses other bodies above MAX_BODY_BYTES and chunked bodies outside uploads', async () => {
    const admin = await issuer.token('admin', ['pacs-admin']);
    const big = await rawRequest(replicas[0]!.url, '/pacs-admin/tools/find', {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ Level: 'Study', Query: {}, Padding: 'x'.repeat(2000) }),
    });
    expect(big.status).toBe(413);
    const chunked = await rawRequest(replicas[0]!.url, '/pacs-admin/tools/find', {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      body: JSON.stringify({ Level: 'Study', Query: {} }),
    });
    expect(chunked.status).toBe(411);
  });
});

// Last: once an address is refused for failed authentications, it stays refused for a minute.
describe('rate limits', () => {
  it('limits sign-in attempts per address across replicas, with Retry-After', async () => {
    const statuses: number[] = [];
    for (const gateway of [...replicas, ...replicas]) {
      statuses.push((await fetch(`${gateway.url}/auth/login?returnTo=/`, { redirect: 'manual' })).status);
    }
    expect(statuses).toEqual([302, 302, 302, 429]);
    const refused = await fetch(`${replicas[0]!.url}/auth/login`, { redirect: 'manual' });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await refused.json()).toMatchObject({ error: 'too_many_requests', requestId: expect.any(String) });
  });

  it('refuses an address after repeated failed authentications, but never throttles before that', async () => {
    const good = await issuer.token('viewer', ['pacs-viewer']);
    for (let i = 0; i < 10; i++) {
      expect((await fetch(`${replicas[0]!.url}/pacs/dicom-web/studies`, { headers: { authorization: `Bearer ${good}` } })).status).toBe(200);
    }
    const bad = { authorization: 'Bearer not.a.token' };
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await fetch(`${replicas[i % 2]!.url}/pacs/dicom-web/studies`, { headers: bad })).status);
    expect(statuses).toEqual([401, 401, 401, 401]);
    // Two failures on each replica, counted together in Redis: the fourth blocks the address. The
    // replica learns it when Redis answers its count, after the 401 went out: wait for that state
    // (it refuses even a good token), not for a guessed duration.
    const served: number[] = [];
    const refused = await waitFor(
      async () => {
        const response = await fetch(`${replicas[1]!.url}/pacs/dicom-web/studies`, { headers: { authorization: `Bearer ${good}` } });
        if (response.status === 429) return response;
        served.push(response.status);
        return undefined;
      },
      { what: 'the address to be refused after 4 failed authentications', timeoutMs: 5_000, intervalMs: 20 },
    );
    expect(served.filter((status) => status !== 200)).toEqual([]);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(30);
    expect((await fetch(`${replicas[1]!.url}/pacs/dicom-web/studies`, { headers: bad })).status).toBe(429);
  });
});
