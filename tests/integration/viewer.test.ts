import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { makeSeries, type GeneratedSeries } from '../support/dicom.js';
import { ACCEPT_DICOM_JSON, tagValues } from '../support/dicomweb.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startOrthanc, uploadInstances, type TestOrthanc } from '../support/orthanc.js';
import { startTestIssuer, type TestIssuer } from '../support/test-issuer.js';

/** The real OHIF build (scripts/fetch-ohif.mjs, pinned version) served by the real gateway. */
const HTML = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'; // what a browser sends on navigation
let orthanc: TestOrthanc;
let issuer: TestIssuer;
let gateway: TestGateway;
let ohifDist: string;
let indexHtml: string;
let study: GeneratedSeries;

const get = (path: string, accept = HTML, method = 'GET') =>
  fetch(`${gateway.url}${path}`, { method, headers: { accept }, redirect: 'manual' });

const gatewayEnv = () => ({
  OIDC_ISSUER: issuer.issuer,
  ORTHANC_URL: orthanc.url,
  ORTHANC_USERNAME: orthanc.username,
  ORTHANC_PASSWORD: orthanc.password,
});

async function expectJson404(response: Response) {
  expect(response.status).toBe(404);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  expect(await response.json()).toMatchObject({ error: 'not_found' });
}

beforeAll(async () => {
  const fetchScript = fileURLToPath(new URL('../../scripts/fetch-ohif.mjs', import.meta.url));
  const fetched = promisify(execFile)(process.execPath, [fetchScript], { maxBuffer: 1 << 20 });
  fetched.catch(() => {}); // awaited below, after Orthanc and the issuer started
  [orthanc, issuer] = await Promise.all([startOrthanc(), startTestIssuer()]);
  study = makeSeries({ modality: 'CT', patientName: 'Viewer^Vera', patientId: 'P-VIEW', instances: 1, rows: 16, columns: 16 });
  await uploadInstances(orthanc, study.files);
  ohifDist = (await fetched).stdout.trim().split('\n').at(-1) ?? '';
  indexHtml = await readFile(join(ohifDist, 'index.html'), 'utf8');
  // Public viewer pages: these tests are about serving the files (sign-in in front is tested in browser-sessions).
  gateway = await startTestGateway({ ...gatewayEnv(), OHIF_DIST: ohifDist, VIEWER_ACCESS: 'public' });
}, 120_000);

afterAll(async () => {
  await gateway?.close();
  await Promise.all([orthanc?.stop(), issuer?.stop()]);
});

describe('OHIF viewer at /', () => {
  it("serves OHIF's index.html at / without caching it", async () => {
    const response = await get('/');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect(await response.text()).toBe(indexHtml);
  });

  it.each(['/viewer?StudyInstanceUIDs=1.2.3', '/some/deep/link', '/callback?code=x&state=y'])('falls back to index.html for a browser navigation to %s', async (path) => {
    const response = await get(path);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect(await response.text()).toBe(indexHtml);
  });

  it.each(['/', '/viewer?StudyInstanceUIDs=1.2.3', '/app-config.js'])("%s carries the viewer's Content-Security-Policy", async (path) => {
    const policy = (await get(path)).headers.get('content-security-policy') ?? '';
    const directives = new Map(policy.split(';').map((directive) => { const [name = '', ...values] = directive.trim().split(/\s+/); return [name, values]; }));
    // OHIF's two inline scripts by hash, its WebAssembly codecs, nothing evaluated from strings.
    expect(directives.get('script-src')).toEqual(["'self'", expect.stringMatching(/^'sha256-/), expect.stringMatching(/^'sha256-/), "'wasm-unsafe-eval'"]);
    expect(directives.get('worker-src')).toEqual(["'self'", 'blob:']);
    expect(directives.get('img-src')).toEqual(["'self'", 'data:', 'blob:']);
    // VIEWER_ACCESS=public: OHIF signs in itself, at the IdP's origin.
    expect(directives.get('connect-src')).toEqual(["'self'", new URL(issuer.issuer).origin]);
    expect(directives.get('object-src')).toEqual(["'none'"]);
    expect(directives.get('frame-ancestors')).toEqual(["'self'"]);
  });

  it('answers HEAD on a deep link like GET, without a body', async () => {
    const response = await get('/viewer', HTML, 'HEAD');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await response.text()).toBe('');
  });

  it('serves our app-config.js, not the one OHIF ships', async () => {
    const response = await get('/app-config.js', '*/*');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/javascript/);
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect(await response.text()).toBe(await readFile(new URL('../../ohif/app-config.js', import.meta.url), 'utf8'));
  });

  it('serves the hashed app bundle index.html refers to as JavaScript, cacheable for good', async () => {
    const bundle = /src="(\/app\.bundle\.[0-9a-f]{16}\.js)"/.exec(indexHtml)?.[1];
    expect(bundle).toBeDefined();
    const response = await get(bundle ?? '', '*/*');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^(text|application)\/javascript/);
    expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(Number(response.headers.get('content-length'))).toBeGreaterThan(1_000_000);
    await response.body?.cancel();
  });

  it('lets the gateway routes keep their JSON answers', async () => {
    await expectJson404(await get('/pacs/unknown'));
    await expectJson404(await get('/auth/no-such-page'));
    expect((await get('/healthz')).headers.get('content-type')).toMatch(/^application\/json/);
  });

  it('answers missing files and non-navigations with the JSON 404, never index.html', async () => {
    await expectJson404(await get('/missing.js', '*/*'));
    await expectJson404(await get('/viewer', 'application/json'));
    await expectJson404(await get('/assets', '*/*')); // a folder: no listing
    await expectJson404(await get('/', '*/*', 'POST'));
  });

  it("OHIF's DICOMweb root from our app-config.js reaches Orthanc through the gateway", async () => {
    const window: { location: { origin: string }; config?: { dataSources: Array<{ configuration: { qidoRoot: string } }> } } = {
      location: { origin: gateway.url },
    };
    runInNewContext(await readFile(join(ohifDist, 'app-config.js'), 'utf8'), { window });
    const qidoRoot = window.config?.dataSources[0]?.configuration.qidoRoot;
    expect(qidoRoot).toBe(`${gateway.url}/pacs/dicom-web`);

    const token = await issuer.token('viewer', ['pacs-viewer']);
    const response = await fetch(`${qidoRoot}/studies`, { headers: { accept: ACCEPT_DICOM_JSON, authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    expect(tagValues(await response.json(), '0020000D')).toContain(study.studyInstanceUid);
  });
});

describe('OHIF_DIST without a viewer', () => {
  it('fails at start with a message naming OHIF_DIST', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'ohif-empty-'));
    try {
      await expect(startTestGateway({ ...gatewayEnv(), OHIF_DIST: empty })).rejects.toThrow(/OHIF_DIST=.*has no index\.html/);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});
