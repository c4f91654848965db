import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { makeSeries, type GeneratedSeries } from '../support/dicom.js';
import { stowBody, tagValues } from '../support/dicomweb.js';
import { Browser } from '../support/http-browser.js';
import { uploadInstances } from '../support/orthanc.js';
import { rawRequest } from '../support/raw-http.js';
import { expectStudyNotFound } from '../support/study-access.js';
import { shareLinkClient } from '../support/share-links.js';
import { startSessionStack, type SessionStack } from '../support/session-stack.js';

/** Study share links end to end: real dev IdP sign-in, Redis, Orthanc with two studies. */
let stack: SessionStack;
let gatewayUrl: string;
let shared: GeneratedSeries;
let other: GeneratedSeries;
let otherInstanceId: string;
const json = { accept: 'application/json' };

let client: ReturnType<typeof shareLinkClient>;
const signedIn = (username: string) => client.signedIn(username);
const createShare = (browser: Browser, body: unknown) => client.createShare(browser, body);

async function openLink(url: string): Promise<Browser> {
  const recipient = new Browser();
  const response = await recipient.request(url);
  expect(response.status).toBe(302);
  expect(response.headers.get('location')).toBe(`/viewer?StudyInstanceUIDs=${shared.studyInstanceUid}`);
  return recipient;
}

beforeAll(async () => {
  stack = await startSessionStack();
  gatewayUrl = stack.gateways[0]!.url;
  client = shareLinkClient(stack.publicUrl, gatewayUrl);
  shared = makeSeries({ modality: 'CT', patientName: 'Shared^Study', patientId: 'P-SHARED', instances: 2, rows: 32, columns: 32 });
  other = makeSeries({ modality: 'MR', patientName: 'Private^Study', patientId: 'P-PRIVATE', instances: 1, rows: 32, columns: 32 });
  await uploadInstances(stack.orthanc, shared.files);
  otherInstanceId = (await uploadInstances(stack.orthanc, other.files))[0]!.ID;
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

describe('creating share links', () => {
  it('lets an uploader create a link, answered with its URL and expiry', async () => {
    const uploader = await signedIn('uploader');
    const response = await createShare(uploader, { studyInstanceUID: shared.studyInstanceUid, expiresInSeconds: 3600 });
    expect(response.status).toBe(201);
    const link = (await response.json()) as { id: string; url: string; expiresAt: string };
    expect(link.url).toBe(`${stack.publicUrl}/share/${link.id}`);
    expect(link.id).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(Date.parse(link.expiresAt) - Date.now()).toBeGreaterThan(3500_000);
  });

  it.each(['viewer', 'norole'])('refuses %s (no share role)', async (username) => {
    const browser = await signedIn(username);
    expect((await createShare(browser, { studyInstanceUID: shared.studyInstanceUid })).status).toBe(403);
  });

  // SHARED stands for the shared study's UID, known only once beforeAll ran.
  it.each([
    [{ studyInstanceUID: 'not-a-uid' }, 400],
    [{ studyInstanceUID: 'SHARED', expiresInSeconds: 5 }, 400],
    [{ studyInstanceUID: 'SHARED', expiresInSeconds: 10_000_000 }, 400],
    [{ studyInstanceUID: '1.2.3.4.5' }, 404],
  ])('answers %j with %i', async (body, status) => {
    const uploader = await signedIn('uploader');
    const studyInstanceUID = body.studyInstanceUID === 'SHARED' ? shared.studyInstanceUid : body.studyInstanceUID;
    expect((await createShare(uploader, { ...body, studyInstanceUID })).status).toBe(status);
  });

  it('refuses a cross-site creation (CSRF)', async () => {
    const uploader = await signedIn('uploader');
    const response = await uploader.request(`${gatewayUrl}/auth/share`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'http://evil.example' },
      body: JSON.stringify({ studyInstanceUID: shared.studyInstanceUid }),
    });
    expect(response.status).toBe(403);
  });
});

describe('a link recipient', () => {
  let recipient: Browser;

  beforeAll(async () => {
    const uploader = await signedIn('uploader');
    const link = (await (await createShare(uploader, { studyInstanceUID: shared.studyInstanceUid })).json()) as { url: string };
    recipient = await openLink(link.url.replace(stack.publicUrl, gatewayUrl));
  });

  const get = (path: string) => recipient.request(`${gatewayUrl}${path}`, { headers: json });

  it('finds only the shared study, whatever the search asks for', async () => {
    for (const query of ['', `?StudyInstanceUID=${other.studyInstanceUid}`, `?0020000D=${other.studyInstanceUid}`, '?PatientID=P-PRIVATE']) {
      const response = await get(`/pacs/dicom-web/studies${query}`);
      expect(response.status).toBe(200);
      const uids = tagValues(await response.json(), '0020000D');
      expect(uids.every((uid) => uid === shared.studyInstanceUid)).toBe(true);
    }
    expect(tagValues(await (await get('/pacs/dicom-web/series')).json(), '0020000E')).toEqual([shared.seriesInstanceUid]);
  });

  it('reads the shared study', async () => {
    expect((await get(`/pacs/dicom-web/studies/${shared.studyInstanceUid}/metadata`)).status).toBe(200);
    const wado = `/pacs/wado?requestType=WADO&studyUID=${shared.studyInstanceUid}&seriesUID=${shared.seriesInstanceUid}&objectUID=${shared.sopInstanceUids[0]}`;
    expect((await get(wado)).status).toBe(200);
  });

  const instanceOf = (study: GeneratedSeries, sop: string) => `/pacs/dicom-web/studies/${study.studyInstanceUid}/series/${study.seriesInstanceUid}/instances/${sop}`;
  const wadoUri = (study: GeneratedSeries, sop: string) =>
    `/pacs/wado?requestType=WADO&studyUID=${study.studyInstanceUid}&seriesUID=${study.seriesInstanceUid}&objectUID=${sop}`;

  it.each([
    ['another study', () => `/pacs/dicom-web/studies/${other.studyInstanceUid}/metadata`, true],
    ['another study by WADO-URI', () => wadoUri(other, other.sopInstanceUids[0]!), true],
    ['a study that does not exist', () => '/pacs/dicom-web/studies/1.2.3.404/metadata', true],
    ['a study that does not exist by WADO-URI', () => wadoUri({ ...other, studyInstanceUid: '1.2.3.404' }, '1.2.3.405'), true],
    ['an instance of another study under the shared study’s path', () => instanceOf(shared, other.sopInstanceUids[0]!), false],
    ['an instance that does not exist under the shared study’s path', () => instanceOf(shared, '1.2.3.406'), false],
    ['the objectUID of another study with the shared studyUID (WADO-URI)', () => wadoUri(shared, other.sopInstanceUids[0]!), false],
    ['an objectUID that does not exist with the shared studyUID (WADO-URI)', () => wadoUri(shared, '1.2.3.406'), false],
  ])('gets one and the same 404 for %s', async (_name, path, refusedBeforeOrthanc) => {
    await stack.orthanc.clearSeenRequests();
    await expectStudyNotFound(await recipient.request(`${gatewayUrl}${path()}`, { headers: { accept: '*/*' } }));
    // Reads under the shared study reach Orthanc, which finds nothing there: its own answer is not passed on.
    if (refusedBeforeOrthanc) expect(await stack.orthanc.seenRequests()).toEqual([]);
  });

  it.each([
    ['a preview by Orthanc id', () => `/pacs/instances/${otherInstanceId}/preview`],
    ['the admin API', () => '/pacs-admin/system'],
  ])('is refused %s (403: not a route for a link)', async (_name, path) => {
    await stack.orthanc.clearSeenRequests();
    expect((await get(path())).status).toBe(403);
    expect(await stack.orthanc.seenRequests()).toEqual([]);
  });

  it('gets the "Study not found" page for a page load of another study, which names nobody as signed in', async () => {
    // rawRequest: fetch() would replace Sec-Fetch-Mode with "cors".
    const response = await rawRequest(gatewayUrl, `/pacs/dicom-web/studies/${other.studyInstanceUid}/metadata`, {
      headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate', cookie: `gw-session=${recipient.cookie('gw-session')}` },
    });
    expect(response.status).toBe(404);
    expect(response.body).toContain('<h1>Study not found</h1>');
    expect(response.body).toContain('Back to the viewer');
    expect(response.body).not.toContain('signed in as');
  });

  it('cannot upload', async () => {
    const { body, contentType } = stowBody(makeSeries({ modality: 'CT', patientName: 'X', patientId: 'P-X', instances: 1, rows: 8, columns: 8 }).files);
    const response = await recipient.request(`${gatewayUrl}/pacs/dicom-web/studies`, {
      method: 'POST',
      headers: { 'content-type': contentType, origin: gatewayUrl },
      body,
    });
    expect(response.status).toBe(403);
  });
});

describe('managing links', () => {
  it('lists and revokes the owner’s links; a revoked link stops working at once', async () => {
    const uploader = await signedIn('uploader');
    const link = (await (await createShare(uploader, { studyInstanceUID: shared.studyInstanceUid })).json()) as { id: string; url: string };
    const recipient = await openLink(link.url.replace(stack.publicUrl, gatewayUrl));
    expect((await recipient.request(`${gatewayUrl}/pacs/dicom-web/studies`, { headers: json })).status).toBe(200);

    const listed = (await (await uploader.request(`${gatewayUrl}/auth/share`, { headers: json })).json()) as Array<{ id: string }>;
    expect(listed.map((entry) => entry.id)).toContain(link.id);

    const viewer = await signedIn('viewer');
    expect((await viewer.request(`${gatewayUrl}/auth/share/${link.id}`, { method: 'DELETE', headers: { origin: gatewayUrl } })).status).toBe(403);

    expect((await uploader.request(`${gatewayUrl}/auth/share/${link.id}`, { method: 'DELETE', headers: { origin: gatewayUrl } })).status).toBe(204);
    expect((await recipient.request(`${gatewayUrl}/pacs/dicom-web/studies`, { headers: json })).status).toBe(401);
    const reopened = await new Browser().request(link.url.replace(stack.publicUrl, gatewayUrl));
    expect(reopened.status).toBe(404);
  });

  it('answers an unknown link with JSON for an API caller and the "Link not valid" page for a page load (404)', async () => {
    const unknown = { url: `${stack.publicUrl}/share/${'x'.repeat(32)}` };
    const response = await client.open(unknown);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: 'not_found', message: 'This share link is unknown, expired or revoked', requestId: response.headers.get('x-request-id') });
    const page = await client.navigate(unknown);
    expect(page.status).toBe(404);
    expect(page.body).toContain('<h1>Link not valid</h1>');
    expect(page.body).toContain('unknown, expired or revoked');
  });
});
