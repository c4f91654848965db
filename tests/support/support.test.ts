import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer } from 'node:net';
import { makeSeries } from './dicom.js';
import { orthancBasicAuth, orthancFetch, startOrthanc, uploadInstances, type TestOrthanc } from './orthanc.js';
import { rawRequest } from './raw-http.js';
import { startRecordingProxy, type RecordingProxy } from './recording-proxy.js';
import { redisPing, startRedis, type TestRedis } from './redis.js';
import { startCountingServer, type CountingServer } from './security.js';

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

describe('test support: Orthanc', () => {
  let orthanc: TestOrthanc | undefined;
  const series = makeSeries({ modality: 'CT', patientName: 'Support^Test', patientId: 'SUPPORT-1', instances: 3, rows: 64, columns: 64 });

  beforeAll(async () => {
    orthanc = await startOrthanc();
  }, 30_000);

  afterAll(async () => {
    await orthanc?.stop();
  }, 20_000);

  it('stores generated DICOM and serves REST, DICOMweb and previews', async () => {
    const o = orthanc!;
    const uploaded = await uploadInstances(o, series.files);
    expect(uploaded).toHaveLength(3);
    expect(uploaded.every((u) => u.Status === 'Success')).toBe(true);

    const studies = (await (await orthancFetch(o, '/studies')).json()) as string[];
    expect(studies).toEqual([uploaded[0]!.ParentStudy]);

    const qido = await fetch(`${o.url}/dicom-web/studies`, { headers: { authorization: orthancBasicAuth(o), accept: 'application/dicom+json' } });
    expect(qido.status).toBe(200);
    const qidoBody = (await qido.json()) as Array<Record<string, { Value?: unknown[] }>>;
    expect(qidoBody).toHaveLength(1);
    expect(qidoBody[0]!['0020000D']?.Value).toEqual([series.studyInstanceUid]);

    const preview = await orthancFetch(o, `/instances/${uploaded[1]!.ID}/preview`);
    expect(preview.status).toBe(200);
    expect(preview.headers.get('content-type')).toBe('image/png');
    const png = new Uint8Array(await preview.arrayBuffer());
    expect(Array.from(png.slice(0, 4))).toEqual([0x89, 0x50, 0x4e, 0x47]);

    const seen = await o.seenRequests();
    expect(seen).toContain('POST /instances');
    expect(seen).toContain('GET /studies');
    expect(seen).toContain('GET /dicom-web/studies');
    expect(seen).toContain(`GET /instances/${uploaded[1]!.ID}/preview`);
    expect(await o.requestCount()).toBe(seen.length);

    await o.clearSeenRequests();
    expect(await o.requestCount()).toBe(0);
  });

  it('rejects unauthenticated requests with 401 Basic (and the request log does not see them)', async () => {
    const o = orthanc!;
    const res = await fetch(`${o.url}/studies`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic /);
    await res.arrayBuffer();
    expect(await o.seenRequests()).toEqual([]);
  });

  it('kills the process and frees the port after stop()', async () => {
    const o = orthanc!;
    expect(pidAlive(o.pid)).toBe(true);
    await o.stop();
    expect(pidAlive(o.pid)).toBe(false);
    orthanc = undefined;
    expect(await canListen(o.port)).toBe(true);
    await expect(fetch(`${o.url}/system`)).rejects.toThrow();
  }, 20_000);
});

describe('test support: Redis', () => {
  let redis: TestRedis | undefined;

  beforeAll(async () => {
    redis = await startRedis();
  }, 20_000);

  afterAll(async () => {
    await redis?.stop();
  });

  it('answers PING, survives restart, and frees its port after stop()', async () => {
    const r = redis!;
    expect(r.url).toBe(`redis://127.0.0.1:${r.port}`);
    expect(await redisPing(r.port)).toBe(true);

    const firstPid = r.pid;
    await r.restart();
    expect(r.pid).not.toBe(firstPid);
    expect(pidAlive(firstPid)).toBe(false);
    expect(await redisPing(r.port)).toBe(true);

    const pid = r.pid;
    await r.stop();
    expect(pidAlive(pid)).toBe(false);
    expect(await redisPing(r.port, 300)).toBe(false);
    expect(await canListen(r.port)).toBe(true);
  });
});

describe('test support: recording proxy', () => {
  let upstream: CountingServer;
  let recorder: RecordingProxy | undefined;

  beforeAll(async () => {
    upstream = await startCountingServer({ ok: true });
  });

  afterAll(async () => {
    await recorder?.stop();
    await upstream.stop();
  });

  it('forwards the request target byte for byte and records method, path, query and override headers', async () => {
    recorder = await startRecordingProxy(upstream.url);
    const target = '/dicom-web%2Fstudies/./x?%5Fmethod=DELETE;a=%41&a=&b=+';
    const response = await rawRequest(recorder.url, target, { headers: { 'X-HTTP-Method-Override': 'PUT', forwarded: 'host=a;proto=http', cookie: 'secret' } });
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ ok: true });
    expect(upstream.requests()).toEqual([`GET ${target}`]);
    expect(recorder.records()).toEqual([
      expect.objectContaining({
        method: 'GET',
        target,
        path: '/dicom-web%2Fstudies/./x',
        query: '%5Fmethod=DELETE;a=%41&a=&b=+',
        headers: { 'x-http-method-override': ['PUT'], forwarded: ['host=a;proto=http'] },
      }),
    ]);
    recorder.clear();
    expect(recorder.records()).toEqual([]);
  });

  it('answers 503 itself, forwarding nothing, when `refuse` says why', async () => {
    await recorder?.stop();
    const before = upstream.requests().length;
    recorder = await startRecordingProxy(upstream.url, { refuse: (record) => (record.method === 'DELETE' ? 'no deletes' : undefined) });
    const response = await rawRequest(recorder.url, '/patients/x', { method: 'DELETE' });
    expect(response.status).toBe(503);
    expect(upstream.requests()).toHaveLength(before);
    expect(recorder.records()).toEqual([expect.objectContaining({ method: 'DELETE', target: '/patients/x', refused: 'no deletes' })]);
  });
});
