import { get as httpGet } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { makeSeries, type GeneratedSeries } from '../support/dicom.js';
import { ACCEPT_DICOM_JSON, ACCEPT_FRAMES, stowBody, tagValues } from '../support/dicomweb.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { orthancFetch, startOrthanc, uploadInstances, type TestOrthanc } from '../support/orthanc.js';
import { rawRequest } from '../support/raw-http.js';
import { startConnectionCounter, type ConnectionCounter } from '../support/security.js';
import { startTestIssuer, type TestIssuer } from '../support/test-issuer.js';

/**
 * The walking skeleton end to end: a real Orthanc with DICOMweb behind the real gateway,
 * Bearer tokens from a real (local) issuer over HTTP.
 */
let orthanc: TestOrthanc;
let issuer: TestIssuer;
let gateway: TestGateway;
let ct: GeneratedSeries;
let mr: GeneratedSeries;
let ctInstanceIds: string[];
const tokens: Record<'viewer' | 'uploader' | 'admin' | 'norole', string> = { viewer: '', uploader: '', admin: '', norole: '' };

async function get(path: string, token?: string, headers: Record<string, string> = {}) {
  return fetch(`${gateway.url}${path}`, {
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    redirect: 'manual',
  });
}

beforeAll(async () => {
  [orthanc, issuer] = await Promise.all([startOrthanc(), startTestIssuer()]);
  ct = makeSeries({ modality: 'CT', patientName: 'Doe^Jane', patientId: 'P-CT', instances: 3, rows: 64, columns: 64 });
  mr = makeSeries({ modality: 'MR', patientName: 'Roe^Rick', patientId: 'P-MR', instances: 2, rows: 32, columns: 32 });
  ctInstanceIds = (await uploadInstances(orthanc, ct.files)).map((result) => result.ID);
  await uploadInstances(orthanc, mr.files);
  gateway = await startTestGateway({
    OIDC_ISSUER: issuer.issuer,
    ORTHANC_URL: orthanc.url,
    ORTHANC_USERNAME: orthanc.username,
    ORTHANC_PASSWORD: orthanc.password,
  });
  tokens.viewer = await issuer.token('viewer', ['pacs-viewer']);
  tokens.uploader = await issuer.token('uploader', ['pacs-uploader', 'pacs-viewer']);
  tokens.admin = await issuer.token('admin', ['pacs-admin']);
  tokens.norole = await issuer.token('norole', []);
  await orthanc.clearSeenRequests();
}, 60_000);

afterAll(async () => {
  await gateway?.close();
  await Promise.all([orthanc?.stop(), issuer?.stop()]);
});

describe('ops endpoints', () => {
  it('reports ready when Orthanc and the identity provider answer', async () => {
    const response = await get('/readyz');
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ready', checks: { orthanc: { ok: true }, identityProvider: { ok: true } } });
  });
});

describe('/auth/me', () => {
  it('describes the caller of a Bearer token', async () => {
    const response = await get('/auth/me', tokens.uploader);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      sub: 'sub-uploader',
      username: 'uploader',
      name: 'uploader Test',
      email: 'uploader@example.org',
      roles: ['pacs-uploader', 'pacs-viewer', 'default-roles-orthanc'],
      via: 'bearer',
      canUpload: true,
    });
    // Bearer-mode OHIF asks this to show its Upload button (ohif/app-config.bearer.js).
    expect(((await (await get('/auth/me', tokens.viewer)).json()) as { canUpload: boolean }).canUpload).toBe(false);
  });

  it('is 401 without credentials', async () => {
    expect((await get('/auth/me')).status).toBe(401);
  });
});

describe('DICOMweb reads through /pacs with a viewer token', () => {
  it('QIDO lists studies, series and instances', async () => {
    const studies = await get('/pacs/dicom-web/studies', tokens.viewer, { accept: ACCEPT_DICOM_JSON });
    expect(studies.status).toBe(200);
    expect(tagValues(await studies.json(), '0020000D').sort()).toEqual([ct.studyInstanceUid, mr.studyInstanceUid].sort());

    const series = await get(`/pacs/dicom-web/studies/${ct.studyInstanceUid}/series`, tokens.viewer);
    expect(tagValues(await series.json(), '0020000E')).toEqual([ct.seriesInstanceUid]);

    const instances = await get(`/pacs/dicom-web/studies/${ct.studyInstanceUid}/series/${ct.seriesInstanceUid}/instances`, tokens.viewer);
    expect(tagValues(await instances.json(), '00080018').sort()).toEqual([...ct.sopInstanceUids].sort());
  });

  it('QIDO with query parameters filters in Orthanc', async () => {
    const response = await get('/pacs/dicom-web/studies?PatientID=P-MR', tokens.viewer);
    expect(tagValues(await response.json(), '0020000D')).toEqual([mr.studyInstanceUid]);
  });

  it('rewrites the absolute URLs Orthanc writes to the public DICOMweb root', async () => {
    const publicRoot = `${gateway.config.publicUrl}/pacs/dicom-web/`;
    const studies = await (await get('/pacs/dicom-web/studies', tokens.viewer)).json();
    const retrieveUrls = tagValues(studies, '00081190') as string[];
    expect(retrieveUrls.length).toBe(2);
    for (const url of retrieveUrls) expect(url.startsWith(`${publicRoot}studies/`)).toBe(true);

    const metadata = await get(`/pacs/dicom-web/studies/${ct.studyInstanceUid}/series/${ct.seriesInstanceUid}/metadata`, tokens.viewer);
    expect(metadata.status).toBe(200);
    expect(metadata.headers.get('content-length')).toBeNull();
    const text = await metadata.text();
    const bulkUris = [...text.matchAll(/"BulkDataURI"\s*:\s*"([^"]+)"/g)].map((match) => match[1]!);
    expect(bulkUris.length).toBeGreaterThanOrEqual(3);
    for (const uri of bulkUris) expect(uri.startsWith(publicRoot)).toBe(true);
    expect(text).not.toContain(orthanc.url);
    expect(text).not.toMatch(/"https?:\/\/[^"/]+\/dicom-web\//);
  });

  it('retrieves frames as multipart with the real pixel bytes', async () => {
    const uid = ct.sopInstanceUids[0]!;
    const response = await get(
      `/pacs/dicom-web/studies/${ct.studyInstanceUid}/series/${ct.seriesInstanceUid}/instances/${uid}/frames/1`,
      tokens.viewer,
      { accept: ACCEPT_FRAMES },
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^multipart\/related/);
    const body = Buffer.from(await response.arrayBuffer());
    expect(body.length).toBeGreaterThan(64 * 64 * 2);
  });

  it('serves rendered images and previews', async () => {
    const uid = ct.sopInstanceUids[1]!;
    const rendered = await get(
      `/pacs/dicom-web/studies/${ct.studyInstanceUid}/series/${ct.seriesInstanceUid}/instances/${uid}/rendered`,
      tokens.viewer,
      { accept: 'image/png' },
    );
    expect(rendered.status).toBe(200);
    expect(rendered.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await rendered.arrayBuffer()).subarray(1, 4).toString()).toBe('PNG');

    const preview = await get(`/pacs/instances/${ctInstanceIds[0]}/preview`, tokens.viewer);
    expect(preview.status).toBe(200);
    expect(preview.headers.get('content-type')).toBe('image/png');
  });

  it('forwards WADO-URI', async () => {
    const query = `requestType=WADO&studyUID=${ct.studyInstanceUid}&seriesUID=${ct.seriesInstanceUid}&objectUID=${ct.sopInstanceUids[0]}&contentType=application/dicom`;
    const response = await get(`/pacs/wado?${query}`, tokens.viewer);
    expect(response.status).toBe(200);
    expect(Buffer.from(await response.arrayBuffer()).subarray(128, 132).toString()).toBe('DICM');
  });

  it('never forwards the client credentials or identity headers, and sends the service credential', async () => {
    await orthanc.clearSeenRequests();
    const response = await get('/pacs/dicom-web/studies', tokens.viewer, {
      cookie: 'session=abc',
      'x-forwarded-user': 'admin',
      'x-remote-user': 'admin',
      'x-forwarded-for': '6.6.6.6',
    });
    expect(response.status).toBe(200);
    const seen = await orthanc.seenHeaders();
    expect(seen.map((entry) => entry.request)).toEqual(['GET /dicom-web/studies']);
    const headers = seen[0]!.headers;
    expect(headers['authorization']).toBe(`Basic ${Buffer.from(`${orthanc.username}:${orthanc.password}`).toString('base64')}`);
    for (const name of ['cookie', 'x-forwarded-user', 'x-remote-user', 'x-forwarded-for']) {
      expect(headers[name]).toBeUndefined();
    }
    expect(headers['forwarded']).toBe(`host=${new URL(gateway.config.publicUrl).host};proto=http`);
  });

  it('a rewritten answer of many chunks, read by a client that pauses, is Orthanc\'s own answer with only the URLs moved', async () => {
    const big = makeSeries({ modality: 'CT', patientName: 'Many^Chunks', patientId: 'P-CHUNKS', instances: 40, rows: 64, columns: 64 });
    await uploadInstances(orthanc, big.files);
    const path = `/dicom-web/studies/${big.studyInstanceUid}/series/${big.seriesInstanceUid}/metadata`;
    const { host, origin } = new URL(gateway.config.publicUrl);
    const direct = await (await orthancFetch(orthanc, path, { headers: { accept: ACCEPT_DICOM_JSON, forwarded: `host=${host};proto=http` } })).text();
    const expected = direct.split(`${origin}/dicom-web/`).join(`${gateway.config.publicUrl}/pacs/dicom-web/`);
    expect(direct.split(`${origin}/dicom-web/`).length).toBeGreaterThan(40); // one BulkDataURI per instance at least
    expect(Buffer.byteLength(direct)).toBeGreaterThan(128 * 1024); // several socket reads, so several chunks

    const chunks: Buffer[] = [];
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = httpGet(`${gateway.url}/pacs${path}`, { headers: { authorization: `Bearer ${tokens.viewer}`, accept: ACCEPT_DICOM_JSON } }, (res) => {
        res.pause();
        setTimeout(() => res.resume(), 300); // the gateway meets a client that is not reading
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve(res.statusCode));
        res.on('error', reject);
      });
      req.on('error', reject);
    });
    expect(status).toBe(200);
    const answer = Buffer.concat(chunks).toString();
    expect(answer.length).toBe(expected.length);
    expect(answer === expected).toBe(true);
  });
});

describe('STOW-RS through /pacs', () => {
  it('stores a new study for an uploader', async () => {
    const upload = makeSeries({ modality: 'CT', patientName: 'New^Upload', patientId: 'P-STOW', instances: 2, rows: 32, columns: 32 });
    const { body, contentType } = stowBody(upload.files);
    const response = await fetch(`${gateway.url}/pacs/dicom-web/studies`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.uploader}`, 'content-type': contentType, accept: ACCEPT_DICOM_JSON },
      body,
    });
    expect(response.status).toBe(200);
    const result = (await response.json()) as Record<string, { Value?: unknown[] }>;
    expect(String(result['00081190']?.Value?.[0])).toBe(`${gateway.config.publicUrl}/pacs/dicom-web/studies/${upload.studyInstanceUid}`);

    const found = await get(`/pacs/dicom-web/studies?StudyInstanceUID=${upload.studyInstanceUid}`, tokens.viewer);
    expect(tagValues(await found.json(), '0020000D')).toEqual([upload.studyInstanceUid]);
  });

  it('refuses a viewer with 403 and Orthanc never sees the upload', async () => {
    await orthanc.clearSeenRequests();
    const upload = makeSeries({ modality: 'MR', patientName: 'Not^Stored', patientId: 'P-NO', instances: 1, rows: 16, columns: 16 });
    const { body, contentType } = stowBody(upload.files);
    const response = await fetch(`${gateway.url}/pacs/dicom-web/studies`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.viewer}`, 'content-type': contentType },
      body,
    });
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ error: 'forbidden', requestId: expect.any(String) });
    expect(await orthanc.seenRequests()).toEqual([]);
  });
});

describe('/pacs-admin', () => {
  it('serves the Orthanc REST API to the admin role', async () => {
    const response = await get('/pacs-admin/system', tokens.admin);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ Name: expect.any(String), Version: expect.any(String) });
  });

  it.each([['/pacs-admin'], ['/pacs-admin/']])('redirects %s to the Explorer under the public prefix', async (path) => {
    const response = await get(path, tokens.admin);
    expect(response.status).toBe(301);
    expect(response.headers.get('location')).toBe(`${gateway.config.publicUrl}/pacs-admin/app/explorer.html`);
  });

  it('serves Orthanc Explorer to the admin role, under its Content-Security-Policy', async () => {
    const response = await get('/pacs-admin/app/explorer.html', tokens.admin);
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain('<html');
    const policy = response.headers.get('content-security-policy') ?? '';
    expect(policy).toMatch(/(^|;)default-src 'self';/);
    expect(policy).toMatch(/script-src 'self' 'unsafe-hashes' 'sha256-[^']+';/);
    expect(policy).toContain("frame-ancestors 'self'");
    // The one inline handler the hash allows is still the one Explorer has (else its upload button breaks).
    expect(html.match(/ on[a-z]+="[^"]*"/g)).toEqual([` onclick="$('#fileupload').click()"`]);
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
  });

  it.each(['viewer', 'uploader', 'norole'] as const)('is 403 for %s', async (user) => {
    await orthanc.clearSeenRequests();
    const response = await get('/pacs-admin/system', tokens[user]);
    expect(response.status).toBe(403);
    expect(await orthanc.seenRequests()).toEqual([]);
  });

  it.each([
    ['POST', '/pacs-admin/tools/execute-script'],
    ['POST', '/pacs-admin/tools/shutdown'],
    ['POST', '/pacs-admin/tools/reset'],
    ['POST', '/pacs-admin/tools/reconstruct'],
    ['POST', '/pacs-admin/tools/invalidate-tags'],
    ['POST', '/pacs-admin/tools/create-dicom'],
    ['PUT', '/pacs-admin/modalities/evil'],
    ['POST', '/pacs-admin/TOOLS/Execute-Script/'],
    ['POST', '/pacs-admin/tools/dicom-echo'],
    ['POST', '/pacs-admin/modalities/sample/echo'],
    ['POST', '/pacs-admin/modalities/sample/store'],
    ['POST', '/pacs-admin/modalities/sample/move'],
    ['POST', '/pacs-admin/modalities/sample/find-study'],
    ['POST', '/pacs-admin/peers/sample/store'],
    ['GET', '/pacs-admin/peers/sample/system'],
    ['POST', '/pacs-admin/dicom-web/servers/sample/stow'],
    ['POST', '/pacs-admin/queries/q/answers/0/retrieve'],
  ])('blocks %s %s even for the admin, before Orthanc sees it', async (method, path) => {
    await orthanc.clearSeenRequests();
    const response = await fetch(`${gateway.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${tokens.admin}`, 'content-type': 'text/plain' },
      ...(method === 'GET' ? {} : { body: 'os.execute("touch /tmp/pwned")' }),
    });
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ error: 'forbidden' });
    expect(await orthanc.seenRequests()).toEqual([]);
  });
});

describe('admin calls that make Orthanc open connections (ADMIN_ALLOW_ENDPOINTS)', () => {
  let listener: ConnectionCounter;
  beforeAll(async () => {
    listener = await startConnectionCounter();
  });
  afterAll(async () => {
    await listener?.stop();
  });

  const echo = (url: string) =>
    fetch(`${url}/pacs-admin/tools/dicom-echo`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ AET: 'SCANNED', Host: '127.0.0.1', Port: listener.port, Timeout: 2 }),
    });

  it('refuses a DICOM echo to a host and port named in the body; nothing connects to that port', async () => {
    await orthanc.clearSeenRequests();
    const response = await echo(gateway.url);
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ error: 'forbidden', message: expect.stringContaining('dicom-echo') });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(listener.connections()).toBe(0);
    expect(await orthanc.seenRequests()).toEqual([]);
  });

  it('lets it through once the operator opens that one endpoint, and only that one', async () => {
    const opened = await startTestGateway({
      OIDC_ISSUER: issuer.issuer,
      ORTHANC_URL: orthanc.url,
      ORTHANC_USERNAME: orthanc.username,
      ORTHANC_PASSWORD: orthanc.password,
      ADMIN_ALLOW_ENDPOINTS: 'dicom-echo',
    });
    try {
      const response = await echo(opened.url);
      // The counter accepts and drops the association, so the echo itself fails (Orthanc's 500, the
      // gateway's 502 without Orthanc's details): the connection is what counts.
      expect(response.status).toBe(502);
      expectGatewayErrorBody(await response.text(), 'bad_gateway');
      expect(listener.connections()).toBeGreaterThan(0);
      const other = await fetch(`${opened.url}/pacs-admin/modalities/sample/echo`, { method: 'POST', headers: { authorization: `Bearer ${tokens.admin}` }, body: '{}' });
      expect(other.status).toBe(403);
    } finally {
      await opened.close();
    }
  });
});

/** The gateway's error body and nothing of Orthanc's (its error JSON names internals and UIDs). */
function expectGatewayErrorBody(text: string, error: string): void {
  const body = JSON.parse(text) as Record<string, unknown>;
  expect(Object.keys(body).sort()).toEqual(['error', 'message', 'requestId']);
  expect(body['error']).toBe(error);
  for (const orthancWord of ['OrthancError', 'OrthancStatus', 'HttpError', 'Details', 'Uri', 'inexistent', 'Parameter out of range']) expect(text).not.toContain(orthancWord);
}

describe("Orthanc's own error answers never reach the client", () => {
  const instance = (): string => `/pacs/dicom-web/studies/${ct.studyInstanceUid}/series/${ct.seriesInstanceUid}/instances/${ct.sopInstanceUids[0]}`;
  it.each([
    ['WADO-RS of an unknown study', 'GET', () => '/pacs/dicom-web/studies/1.2.3.999/metadata', 'viewer', undefined, 404, 'not_found'],
    ['an instance under another study', 'GET', () => `/pacs/dicom-web/studies/${mr.studyInstanceUid}/series/${ct.seriesInstanceUid}/instances/${ct.sopInstanceUids[0]}`, 'viewer', undefined, 404, 'not_found'],
    ['rendered with an out-of-range quality', 'GET', () => `${instance()}/rendered?quality=900`, 'viewer', undefined, 400, 'bad_request'],
    ['a frame that does not exist', 'GET', () => `${instance()}/frames/7`, 'viewer', undefined, 400, 'bad_request'],
    ['admin REST of an unknown patient', 'GET', () => '/pacs-admin/patients/00000000-00000000-00000000-00000000-00000000', 'admin', undefined, 404, 'not_found'],
    ['an upload Orthanc cannot parse', 'POST', () => '/pacs-admin/instances', 'admin', 'not dicom', 400, 'bad_request'],
    ['a search with an unknown level', 'POST', () => '/pacs-admin/tools/find', 'admin', '{"Level":"Nope","Query":{}}', 400, 'bad_request'],
  ] satisfies Array<[string, string, () => string, 'viewer' | 'admin', string | undefined, number, string]>)('%s: %s → %i %s of the gateway', async (_name, method, path, user, body, status, error) => {
    const response = await fetch(`${gateway.url}${path()}`, { method, headers: { authorization: `Bearer ${tokens[user]}` }, ...(body ? { body } : {}) });
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expectGatewayErrorBody(await response.text(), error);
  });

  it('answers HEAD with the status and no body', async () => {
    const response = await fetch(`${gateway.url}/pacs/dicom-web/studies/1.2.3.999/metadata`, { method: 'HEAD', headers: { authorization: `Bearer ${tokens.viewer}` } });
    expect(response.status).toBe(404);
    expect(await response.text()).toBe('');
  });
});

describe('refusals', () => {
  it('answers 401 with a Bearer challenge (never Basic) when no token is sent', async () => {
    const response = await get('/pacs/dicom-web/studies');
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="orthanc-oidc-gateway"');
    expect(await response.json()).toMatchObject({ error: 'unauthenticated', message: expect.any(String), requestId: expect.any(String) });
  });

  it('treats Basic credentials as no credentials', async () => {
    const basic = `Basic ${Buffer.from(`${orthanc.username}:${orthanc.password}`).toString('base64')}`;
    const response = await get('/pacs/dicom-web/studies', undefined, { authorization: basic });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).not.toMatch(/basic/i);
  });

  it('is 403 for a signed-in user without a PACS role', async () => {
    const response = await get('/pacs/dicom-web/studies', tokens.norole);
    expect(response.status).toBe(403);
  });

  it.each([
    ['/pacs/dicom-web/servers', 404],
    ['/pacs/tools/execute-script', 404],
    ['/pacs/system', 404],
    ['/PACS-ADMIN/system', 404],
    ['/nothing-here', 404],
    ['/pacs/dicom-web/studies/%2e%2e/%2e%2e/system', 400],
    ['/pacs/dicom-web/../../pacs-admin/system', 400],
    ['/pacs/dicom-web/studies\\..\\..\\system', 400],
    ['/pacs/instances;x=1/preview', 400],
  ])('GET %s → %i JSON, not forwarded', async (path, status) => {
    await orthanc.clearSeenRequests();
    const response = await rawRequest(gateway.url, path, { headers: { authorization: `Bearer ${tokens.admin}` } });
    expect(response.status).toBe(status);
    expect(JSON.parse(response.body)).toMatchObject({ error: expect.any(String), requestId: expect.any(String) });
    expect(await orthanc.seenRequests()).toEqual([]);
  });

  it('is 405 with Allow for a method the route does not have', async () => {
    const response = await fetch(`${gateway.url}/pacs/dicom-web/studies/1.2.3/series`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${tokens.admin}` },
    });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD');
  });
});
