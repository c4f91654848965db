import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { auditEventOf } from '../support/audit-events.js';
import { makeSeries, type GeneratedSeries } from '../support/dicom.js';
import { stowBody } from '../support/dicomweb.js';
import { Browser } from '../support/http-browser.js';
import { orthancFetch, uploadInstances } from '../support/orthanc.js';
import { rawRequest } from '../support/raw-http.js';
import { startSessionStack, type SessionStack } from '../support/session-stack.js';
import { shareLinkClient } from '../support/share-links.js';
import { STAND_IN_VIEWER_PAGE, standInViewer } from '../support/stand-in-viewer.js';

/**
 * Upload-only "drop box" links (README "Drop-box links"): the real dev IdP, Redis and Orthanc with
 * its DICOMweb plugin. The holder sends studies with STOW-RS and can read nothing, not even them.
 * SHARE_ROLES includes the viewer role, so a sharer who may not upload exists; a stand-in viewer
 * (VIEWER_ACCESS=session) shows where a holder opening the viewer lands.
 */
let stack: SessionStack;
let gatewayUrl: string;
let client: ReturnType<typeof shareLinkClient>;
let uploader: Browser;
/** A study already in the archive, not the holder's. */
let existing: GeneratedSeries;
let existingInstanceId: string;
const json = { accept: 'application/json' };

interface DropBoxLink {
  id: string;
  url: string;
  dropBox?: boolean;
  studyInstanceUID?: string;
  maxUses?: number;
  usesLeft?: number;
}

async function createDropBox(browser: Browser, extra: Record<string, unknown> = {}): Promise<Response> {
  return client.createShare(browser, { dropBox: true, ...extra });
}

/** Opens a drop-box link in a new browser: lands on the upload page. */
async function holderOf(link: DropBoxLink): Promise<Browser> {
  const holder = new Browser();
  const response = await holder.request(link.url.replace(stack.publicUrl, gatewayUrl));
  expect(response.status).toBe(302);
  expect(response.headers.get('location')).toBe('/share/upload');
  return holder;
}

function stow(holder: Browser, series: GeneratedSeries, path = '/pacs/dicom-web/studies'): Promise<Response> {
  const { body, contentType } = stowBody(series.files);
  return holder.request(`${gatewayUrl}${path}`, { method: 'POST', headers: { 'content-type': contentType, accept: 'application/dicom+json', origin: gatewayUrl }, body });
}

beforeAll(async () => {
  stack = await startSessionStack({ env: { SHARE_ROLES: 'pacs-viewer,pacs-uploader,pacs-admin', OHIF_DIST: standInViewer() } });
  gatewayUrl = stack.publicUrl;
  client = shareLinkClient(stack.publicUrl, gatewayUrl);
  existing = makeSeries({ modality: 'MR', patientName: 'Existing^Study', patientId: 'P-EXISTING', instances: 1, rows: 16, columns: 16 });
  existingInstanceId = (await uploadInstances(stack.orthanc, existing.files))[0]!.ID;
  uploader = await client.signedIn('uploader');
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

describe('creating a drop-box link', () => {
  it('lets an uploader create one: no study, dropBox true, expiry and uses', async () => {
    const response = await createDropBox(uploader, { expiresInSeconds: 3600, maxUses: 3 });
    expect(response.status).toBe(201);
    const link = (await response.json()) as DropBoxLink;
    expect(link).toMatchObject({ dropBox: true, maxUses: 3, usesLeft: 3, url: `${stack.publicUrl}/share/${link.id}` });
    expect(link).not.toHaveProperty('studyInstanceUID');
  });

  it('refuses a sharer who may not upload (403)', async () => {
    const viewer = await client.signedIn('viewer');
    expect((await createDropBox(viewer)).status).toBe(403);
    // The same viewer may share a study read-only (SHARE_ROLES names their role).
    expect((await client.createShare(viewer, { studyInstanceUID: existing.studyInstanceUid })).status).toBe(201);
  });

  it.each([
    [{ dropBox: true, studyInstanceUID: '1.2.3' }],
    [{ expiresInSeconds: 3600 }],
    [{ dropBox: false }],
    [{ dropBox: 'yes' }],
  ])('refuses %j (400)', async (body) => {
    expect((await client.createShare(uploader, body)).status).toBe(400);
  });
});

describe('the holder of a drop box', () => {
  let holder: Browser;
  let link: DropBoxLink;
  let sent: GeneratedSeries;

  beforeAll(async () => {
    link = (await (await createDropBox(uploader)).json()) as DropBoxLink;
    holder = await holderOf(link);
    sent = makeSeries({ modality: 'CT', patientName: 'Outside^Clinic', patientId: 'P-OUTSIDE', instances: 2, rows: 16, columns: 16 });
  });

  it('gets the upload page (its one script by hash), naming who shared it', async () => {
    const response = await rawRequest(gatewayUrl, '/share/upload', { headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate', cookie: `gw-session=${holder.cookie('gw-session')}` } });
    expect(response.status).toBe(200);
    expect(response.body).toContain('<h1>Send studies</h1>');
    expect(response.body).toContain('shared by uploader');
    expect(String(response.headers['content-security-policy'])).toMatch(/script-src 'sha256-[^']+'; style-src 'sha256-/);
  });

  it.each([
    ['the viewer at /', '/'],
    ['a viewer route', `/viewer?StudyInstanceUIDs=1.2.3`],
    ['the viewer’s index.html', '/index.html'],
  ])('opening %s as a page load is sent to the upload page, not the viewer nor "No access"', async (_name, path) => {
    const response = await rawRequest(gatewayUrl, path, { headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate', cookie: `gw-session=${holder.cookie('gw-session')}` } });
    expect(response.status).toBe(302);
    expect(response.headers['location']).toBe('/share/upload');
    expect(response.body).not.toContain(STAND_IN_VIEWER_PAGE);
  });

  it('the drop box’s creator opening / still gets the viewer', async () => {
    const response = await rawRequest(gatewayUrl, '/', { headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate', cookie: `gw-session=${uploader.cookie('gw-session')}` } });
    expect(response.status).toBe(200);
    expect(response.body).toContain(STAND_IN_VIEWER_PAGE);
  });

  it('fetching the viewer’s page without a page load gets the JSON 403, not a redirect', async () => {
    const response = await holder.request(`${gatewayUrl}/index.html`, { headers: json });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { error: string }).error).toBe('forbidden');
  });

  it('sends a study with STOW-RS; the answer names only the UIDs it sent, no URL', async () => {
    const response = await stow(holder, sent);
    expect(response.status).toBe(200);
    const answer = (await response.json()) as Record<string, { Value: Array<Record<string, { Value: string[] }>> }>;
    expect(Object.keys(answer)).toEqual(['00081199']);
    expect(answer['00081199']!.Value.map((item) => item['00081155']!.Value[0]).sort()).toEqual([...sent.sopInstanceUids].sort());
    for (const item of answer['00081199']!.Value) expect(Object.keys(item).sort()).toEqual(['00081150', '00081155']);
    expect(JSON.stringify(answer)).not.toMatch(/https?:|00081190|dicom-web/);
    // It is in Orthanc.
    const found = await orthancFetch(stack.orthanc, `/dicom-web/studies?StudyInstanceUID=${sent.studyInstanceUid}`, { headers: json });
    expect(((await found.json()) as unknown[]).length).toBe(1);
  });

  it('is recorded in the audit trail as a store by the drop box, with the link’s creator', async () => {
    const response = await stow(holder, makeSeries({ modality: 'CT', patientName: 'Outside^Two', patientId: 'P-OUTSIDE-2', instances: 1, rows: 8, columns: 8 }));
    expect(response.status).toBe(200);
    const event = await auditEventOf(response.headers.get('x-request-id') ?? '', stack.logs);
    expect(event).toMatchObject({ event: 'access', action: 'store', via: 'share', routeClass: 'dicomweb-store', user: { sub: `share:${link.id}`, username: 'drop box from uploader' } });
    expect(event['sharedBy']).toEqual({ sub: expect.any(String), username: 'uploader' });
  });

  const sentUid = () => sent.studyInstanceUid;
  const sentWadoUri = () => `/pacs/wado?requestType=WADO&studyUID=${sent.studyInstanceUid}&seriesUID=${sent.seriesInstanceUid}&objectUID=${sent.sopInstanceUids[0]}`;
  it.each([
    ['QIDO-RS studies', () => '/pacs/dicom-web/studies'],
    ['QIDO-RS for the study it sent', () => `/pacs/dicom-web/studies?StudyInstanceUID=${sentUid()}`],
    ['QIDO-RS series', () => '/pacs/dicom-web/series'],
    ['QIDO-RS instances of its study', () => `/pacs/dicom-web/studies/${sentUid()}/instances`],
    ['WADO-RS of the study it sent', () => `/pacs/dicom-web/studies/${sentUid()}`],
    ['metadata of the study it sent', () => `/pacs/dicom-web/studies/${sentUid()}/metadata`],
    ['rendered of the study it sent', () => `/pacs/dicom-web/studies/${sentUid()}/rendered`],
    ['metadata of another study', () => `/pacs/dicom-web/studies/${existing.studyInstanceUid}/metadata`],
    ['WADO-URI of what it sent', sentWadoUri],
    ['a preview by Orthanc id', () => `/pacs/instances/${existingInstanceId}/preview`],
    ['the admin API', () => '/pacs-admin/system'],
    ['Orthanc Explorer', () => '/pacs-admin/app/explorer.html'],
  ])('is refused %s (403), and Orthanc sees nothing', async (_name, path) => {
    await stack.orthanc.clearSeenRequests();
    const response = await holder.request(`${gatewayUrl}${path()}`, { headers: { accept: 'application/dicom+json' } });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { error: string }).error).toBe('forbidden');
    expect(await stack.orthanc.seenRequests()).toEqual([]);
  });

  it('is refused a STOW-RS to one study’s path (its answer would tell what that study holds)', async () => {
    await stack.orthanc.clearSeenRequests();
    expect((await stow(holder, existing, `/pacs/dicom-web/studies/${existing.studyInstanceUid}`)).status).toBe(403);
    expect(await stack.orthanc.seenRequests()).toEqual([]);
  });

  it('cannot create share links', async () => {
    expect((await client.createShare(holder, { dropBox: true })).status).toBe(403);
  });

  it('stops at once when the link is revoked', async () => {
    const other = (await (await createDropBox(uploader)).json()) as DropBoxLink;
    const second = await holderOf(other);
    expect((await uploader.request(`${gatewayUrl}/auth/share/${other.id}`, { method: 'DELETE', headers: { origin: gatewayUrl } })).status).toBe(204);
    const response = await stow(second, makeSeries({ modality: 'CT', patientName: 'Late^Send', patientId: 'P-LATE', instances: 1, rows: 8, columns: 8 }));
    expect(response.status).toBe(401);
  });
});

describe('expiry and uses', () => {
  it('a one-use drop box opens once; the second holder gets "Link used up"', async () => {
    const link = (await (await createDropBox(uploader, { maxUses: 1 })).json()) as DropBoxLink;
    await holderOf(link);
    const second = await new Browser().request(link.url.replace(stack.publicUrl, gatewayUrl), { headers: json });
    expect(second.status).toBe(410);
  });

  it('lists drop boxes among the creator’s links', async () => {
    const link = (await (await createDropBox(uploader)).json()) as DropBoxLink;
    const listed = (await (await uploader.request(`${gatewayUrl}/auth/share`, { headers: json })).json()) as DropBoxLink[];
    expect(listed.find((entry) => entry.id === link.id)).toMatchObject({ dropBox: true });
  });
});
