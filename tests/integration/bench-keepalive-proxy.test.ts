/**
 * The bare proxies of the QIDO floor (bench/node-proxy-keepalive*.mjs, bench/README.md section 17)
 * against the real Orthanc: the plain one passes Orthanc's answer through untouched, the rewriting
 * one answers exactly what the gateway's URL rewrite makes of Orthanc's answer to the same
 * `Forwarded` header, so the floor it measures does the gateway's work and no less.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startNodeProxy } from '../../bench/lib/processes.js';
import { urlRewriterFor } from '../../src/upstream/url-rewrite.js';
import { makeSeries } from '../support/dicom.js';
import { ACCEPT_DICOM_JSON } from '../support/dicomweb.js';
import { orthancBasicAuth, orthancFetch, startOrthanc, uploadInstances, type TestOrthanc } from '../support/orthanc.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

describe('bench keep-alive bare proxies (the QIDO floor)', () => {
  let orthanc: TestOrthanc;
  let dir: string;
  const stops: Array<() => Promise<void>> = [];
  const series = makeSeries({ modality: 'CT', patientName: 'Bench^Floor', patientId: 'P-BENCH-FLOOR', instances: 2, rows: 32, columns: 32 });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bench-keepalive-'));
    orthanc = await startOrthanc();
    await uploadInstances(orthanc, series.files);
  }, 60_000);
  afterAll(async () => {
    await Promise.all(stops.map((stop) => stop()));
    await orthanc?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const viaProxy = async (script: string, path: string) => {
    const proxy = await startNodeProxy(dir, REPO_ROOT, orthanc.url, orthancBasicAuth(orthanc), script);
    stops.push(() => proxy.stop());
    const answers = [];
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${proxy.url}${path}`, { headers: { accept: ACCEPT_DICOM_JSON } });
      answers.push({ status: res.status, chunked: res.headers.get('transfer-encoding') === 'chunked', body: Buffer.from(await res.arrayBuffer()) });
    }
    return { port: proxy.port, answers };
  };
  const direct = async (path: string, forwarded?: string) => {
    const res = await orthancFetch(orthanc, path, { headers: { accept: ACCEPT_DICOM_JSON, ...(forwarded ? { forwarded } : {}) } });
    expect(res.status).toBe(200);
    return Buffer.from(await res.arrayBuffer());
  };

  const path = `/dicom-web/studies/${series.studyInstanceUid}/instances`;

  it('node-proxy-keepalive.mjs passes the answer through byte for byte', async () => {
    const { answers } = await viaProxy('node-proxy-keepalive.mjs', path);
    const expected = await direct(path);
    for (const answer of answers) expect(answer).toEqual({ status: 200, chunked: false, body: expected });
  }, 60_000);

  it("node-proxy-keepalive-rewrite.mjs answers what the gateway's rewrite makes of Orthanc's answer", async () => {
    const { port, answers } = await viaProxy('node-proxy-keepalive-rewrite.mjs', path);
    const publicHost = `127.0.0.1:${port}`;
    const original = await direct(path, `host=${publicHost};proto=http`);
    const rewriter = urlRewriterFor({ from: `http://${publicHost}/dicom-web/`, to: `http://${publicHost}/pacs/dicom-web/` })();
    const expected = Buffer.concat([rewriter.write(original), rewriter.end()]);
    expect(expected.toString()).toContain(`http://${publicHost}/pacs/dicom-web/studies/${series.studyInstanceUid}`);
    expect(expected.equals(original)).toBe(false);
    for (const answer of answers) expect({ ...answer, body: answer.body.toString() }).toEqual({ status: 200, chunked: true, body: expected.toString() });
  }, 60_000);
});
