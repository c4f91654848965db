import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startBearerStack, type BearerStack } from '../support/bearer-stack.js';
import { makeSeries, type GeneratedSeries } from '../support/dicom.js';
import { ACCEPT_DICOM_JSON, ACCEPT_FRAMES } from '../support/dicomweb.js';
import { uploadInstances } from '../support/orthanc.js';
import { rawRequest } from '../support/raw-http.js';

/**
 * Plain /pacs and /pacs-admin targets take the lean path (node:http straight into the pipeline's
 * stages, src/app.ts); the same request spelt with a percent-encoded prefix (`/%70acs`, which
 * the classifier reads as /pacs) goes through Express. Both must answer alike: same status, same
 * headers, same body (apart from the request id), against a real Orthanc and a real issuer.
 */
let stack: BearerStack;
let series: GeneratedSeries;
const tokens: Record<'viewer' | 'admin' | 'norole', string> = { viewer: '', admin: '', norole: '' };

/** Headers whose values differ per request by nature (the ETag of an error body hashes its request id). */
const PER_REQUEST = new Set(['date', 'x-request-id', 'keep-alive', 'connection', 'etag']);

async function answer(path: string, init: { method?: string; token?: string; headers?: Record<string, string> }) {
  const response = await fetch(`${stack.gateway.url}${path}`, {
    method: init.method ?? 'GET',
    headers: { ...(init.token ? { authorization: `Bearer ${init.token}` } : {}), ...init.headers },
    redirect: 'manual',
  });
  // Orthanc draws a new multipart boundary for every answer.
  const boundary = /boundary=([^;\s]+)/.exec(response.headers.get('content-type') ?? '')?.[1];
  const sameBoundary = (value: string) => (boundary ? value.split(boundary).join('<boundary>') : value);
  const headers = Object.fromEntries([...response.headers].filter(([name]) => !PER_REQUEST.has(name)).map(([name, value]) => [name, sameBoundary(value)]));
  const text = sameBoundary(Buffer.from(await response.arrayBuffer()).toString('latin1'));
  const body = headers['content-type']?.includes('json') ? (JSON.parse(text) as unknown) : text;
  if (body && typeof body === 'object' && 'requestId' in body) (body as { requestId?: string }).requestId = '<id>';
  return { status: response.status, headers, body };
}

/** The same request target with its first path character percent-encoded: Express's path. */
const viaExpress = (path: string) => path.replace(/^\/p/, '/%70');

beforeAll(async () => {
  stack = await startBearerStack();
  series = makeSeries({ modality: 'CT', patientName: 'Lean^Path', patientId: 'P-LEAN', instances: 2, rows: 32, columns: 32 });
  await uploadInstances(stack.orthanc, series.files);
  tokens.viewer = await stack.issuer.token('viewer', ['pacs-viewer']);
  tokens.admin = await stack.issuer.token('admin', ['pacs-admin']);
  tokens.norole = await stack.issuer.token('norole', []);
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

describe('the lean path answers like Express', () => {
  const frame = () => `/pacs/dicom-web/studies/${series.studyInstanceUid}/series/${series.seriesInstanceUid}/instances/${series.sopInstanceUids[0]}/frames/1`;
  const cases: Array<[name: string, path: () => string, init: () => Parameters<typeof answer>[1], status: number]> = [
    ['a QIDO search (rewritten JSON)', () => '/pacs/dicom-web/studies?PatientID=P-LEAN', () => ({ token: tokens.viewer, headers: { accept: ACCEPT_DICOM_JSON } }), 200],
    ['a frame (binary, passed through)', frame, () => ({ token: tokens.viewer, headers: { accept: ACCEPT_FRAMES } }), 200],
    ['no token: 401 with a Bearer challenge', () => '/pacs/dicom-web/studies', () => ({ headers: { accept: ACCEPT_DICOM_JSON } }), 401],
    ['no role: 403', () => '/pacs/dicom-web/studies', () => ({ token: tokens.norole }), 403],
    ['an ambiguous query: 400 before policy', () => '/pacs/dicom-web/studies?limit=1&limit=2', () => ({ token: tokens.viewer }), 400],
    ['a method the route does not allow: 405', () => '/pacs/dicom-web/studies', () => ({ method: 'DELETE', token: tokens.viewer }), 405],
    ['an unknown route: 404', () => '/pacs/no-such-thing', () => ({ token: tokens.viewer }), 404],
    ["an admin call to Orthanc's REST API", () => '/pacs-admin/system', () => ({ token: tokens.admin }), 200],
    ["Orthanc's 404, replaced by the gateway's", () => '/pacs-admin/studies/0000', () => ({ token: tokens.admin }), 404],
    ['a store without the uploader role: 403', () => '/pacs/dicom-web/studies', () => ({ method: 'POST', token: tokens.viewer, headers: { 'content-type': 'multipart/related; type="application/dicom"; boundary=x' } }), 403],
  ];

  it.each(cases)('%s', async (_name, path, init, status) => {
    const lean = await answer(path(), init());
    const express = await answer(viaExpress(path()), init());
    expect(lean.status).toBe(status);
    // CORS reads the target's one reading, so both spellings vary by Origin.
    if (path().startsWith('/pacs/')) expect(lean.headers['vary']).toMatch(/\bOrigin\b/);
    expect(lean).toEqual(express);
  });

  it.each([
    ['on the lean path', '/pacs-admin/app/explorer.html'],
    ['through Express, the prefix encoded', viaExpress('/pacs-admin/app/explorer.html')],
    ['through Express, the prefix encoded elsewhere', '/pac%73-admin/app/explorer.html'],
  ])("gives Orthanc Explorer its Content-Security-Policy %s", async (_name, path) => {
    const page = await answer(path, { token: tokens.admin });
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toContain("script-src 'self' 'unsafe-hashes'");
  });
});

describe('the request to Orthanc', () => {
  it("is built by the gateway for a request with Expect: 100-continue too (http-proxy forwarded the client's own headers then)", async () => {
    const answer = await rawRequest(stack.gateway.url, '/pacs/dicom-web/studies?PatientID=P-LEAN', {
      headers: { authorization: `Bearer ${tokens.viewer}`, accept: ACCEPT_DICOM_JSON, expect: '100-continue' },
    });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toHaveLength(1);
  });
});
