import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { makeSeries, type GeneratedSeries } from '../support/dicom.js';
import { Browser } from '../support/http-browser.js';
import { signOutThroughGateway } from '../support/idp-sign-out.js';
import { uploadInstances } from '../support/orthanc.js';
import { waitFor } from '../support/process.js';
import { startSessionStack, type SessionStack } from '../support/session-stack.js';
import { shareLinkClient, type CreatedLink } from '../support/share-links.js';

/**
 * A share link lives no longer than its creator's right to share (README "Study share links"): two
 * replicas on one Redis, the dev IdP with 12-second access tokens, SHARE_CONFIRM_SECONDS=20. The
 * creator is signed out, loses the share role or is disabled at the IdP, or just stays away.
 */
const TOKEN_SECONDS = 12;
const CONFIRM_SECONDS = 20;
let stack: SessionStack;
let study: GeneratedSeries;
let onA: ReturnType<typeof shareLinkClient>;
let onB: ReturnType<typeof shareLinkClient>;
const json = { accept: 'application/json' };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  stack = await startSessionStack({ replicas: 2, accessTokenLifespan: TOKEN_SECONDS, env: { SHARE_CONFIRM_SECONDS: String(CONFIRM_SECONDS) } });
  [onA, onB] = stack.gateways.map((gateway) => shareLinkClient(stack.publicUrl, gateway.url)) as [typeof onA, typeof onB];
  study = makeSeries({ modality: 'CT', patientName: 'Standing^Study', patientId: 'P-STANDING', instances: 1, rows: 16, columns: 16 });
  await uploadInstances(stack.orthanc, study.files);
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

/** The recipient's search on both replicas: 200 while the link is honoured, 401 once it is not. */
async function recipientStatuses(recipient: Browser): Promise<number[]> {
  return Promise.all(stack.gateways.map(async ({ url }) => (await recipient.request(`${url}/pacs/dicom-web/studies`, { headers: json })).status));
}

/** Opens the link on replica B in a fresh browser: the recipient, or the answer when it is refused. */
async function recipientOf(link: CreatedLink): Promise<Browser> {
  const recipient = new Browser();
  const response = await onB.open(link, recipient);
  expect(response.status).toBe(302);
  expect(await recipientStatuses(recipient)).toEqual([200, 200]);
  return recipient;
}

/** A refused link: JSON `{"error","message","requestId"}` for an API caller, the gateway's page for a page load. */
async function expectRefused(link: CreatedLink, status: number, error: string, pageTitle: string): Promise<void> {
  const api = await onB.open(link);
  expect(api.status).toBe(status);
  expect(await api.json()).toEqual({ error, message: expect.any(String), requestId: api.headers.get('x-request-id') });
  const page = await onB.navigate(link);
  expect(page.status).toBe(status);
  expect(page.headers['content-type']).toMatch(/^text\/html/);
  expect(page.body).toContain(`<h1>${pageTitle}</h1>`);
}

const expectPaused = (link: CreatedLink) => expectRefused(link, 403, 'forbidden', 'Link paused');
const expectRevoked = (link: CreatedLink) => expectRefused(link, 404, 'not_found', 'Link not valid');

it('a link revoked on one replica stops working at once on the other', async () => {
  const creator = await onA.signedIn('uploader');
  const link = await onA.created(creator, study.studyInstanceUid);
  const recipient = await recipientOf(link);
  expect((await creator.request(`${stack.gateways[0]!.url}/auth/share/${link.id}`, { method: 'DELETE', headers: { origin: stack.publicUrl } })).status).toBe(204);
  expect(await recipientStatuses(recipient)).toEqual([401, 401]);
  await expectRevoked(link);
});

it('the IdP signing the creator out (back-channel logout) pauses their links until they sign in again', async () => {
  const creator = await onA.signedIn('uploader');
  const link = await onA.created(creator, study.studyInstanceUid);
  const recipient = await recipientOf(link);

  await stack.idp.endUserSessions('uploader'); // the IdP's logout token names the creator's sub and sid
  expect(await recipientStatuses(recipient)).toEqual([401, 401]);
  await expectPaused(link);

  await onA.signedIn('uploader');
  await recipientOf(link);
});

const logoutsOf = (sub: string) => stack.logs.lines.filter((line) => line['msg'] === 'back-channel logout' && line['sub'] === sub);

/**
 * The uploader, with no other session at the IdP, signs in on replica A (`before` runs then, e.g. a
 * second sign-in), shares the study and signs out through the gateway: returns the gateway's log line
 * of the back-channel logout the IdP sends for that session, the link and its recipient.
 */
async function creatorSignsOut(before: () => Promise<void> = async () => {}) {
  await stack.idp.endUserSessions('uploader');
  const creator = await onA.signedIn('uploader');
  await before();
  const { sub } = (await (await creator.request(`${stack.gateways[0]!.url}/auth/me`, { headers: json })).json()) as { sub: string };
  const link = await onA.created(creator, study.studyInstanceUid);
  const recipient = await recipientOf(link);
  const seen = logoutsOf(sub).length;
  await signOutThroughGateway(creator, stack.gateways[0]!.url);
  const logout = await waitFor(() => logoutsOf(sub)[seen], { what: `the back-channel logout of ${sub}` });
  expect((await creator.request(`${stack.gateways[1]!.url}/auth/me`, { headers: json })).status).toBe(401);
  return { logout, link, recipient };
}

it('the creator signing out through the gateway does not pause their links, though the IdP echoes it over the back channel', async () => {
  const { logout, link, recipient } = await creatorSignsOut();
  expect(logout).toMatchObject({ linksPaused: false, ended: 1 });
  expect(await recipientStatuses(recipient)).toEqual([200, 200]);
  expect((await onB.open(link)).status).toBe(302);
});

it('a creator with two sessions who signs out of one: the logout ends the other (sid and sub) and pauses their links', async () => {
  let elsewhere = new Browser();
  const { logout, link, recipient } = await creatorSignsOut(async () => {
    elsewhere = await onB.signedIn('uploader');
  });
  expect(logout).toMatchObject({ linksPaused: true, ended: 2 });
  expect((await elsewhere.request(`${stack.gateways[1]!.url}/auth/me`, { headers: json })).status).toBe(401);
  expect(await recipientStatuses(recipient)).toEqual([401, 401]);
  await expectPaused(link);
  await onA.signedIn('uploader');
  await recipientOf(link);
});

it('the creator losing the share role revokes their links at their next token refresh, for good', async () => {
  const creator = await onA.signedIn('admin');
  const link = await onA.created(creator, study.studyInstanceUid);
  const recipient = await recipientOf(link);
  stack.idp.setRealmRoles('admin', ['pacs-viewer']);
  try {
    await sleep((TOKEN_SECONDS - 2) * 1000); // the creator's refresh is due; their standing (20 s) is not stale yet
    expect((await creator.request(`${stack.gateways[1]!.url}/pacs/dicom-web/studies`, { headers: json })).status).toBe(200);
    expect(await recipientStatuses(recipient)).toEqual([401, 401]);
    await expectRevoked(link);
  } finally {
    stack.idp.setRealmRoles('admin', ['pacs-admin', 'pacs-uploader', 'pacs-viewer']);
  }
  await onA.signedIn('admin'); // the role back: revoked links stay revoked
  await expectRevoked(link);
}, 40_000);

it('the creator being disabled at the IdP pauses their links when their refresh fails (invalid_grant)', async () => {
  const creator = await onA.signedIn('uploader');
  const link = await onA.created(creator, study.studyInstanceUid);
  const recipient = await recipientOf(link);
  await stack.idp.setUserEnabled('uploader', false); // no back-channel logout, as Keycloak
  try {
    await sleep((TOKEN_SECONDS - 2) * 1000);
    expect((await creator.request(`${stack.gateways[1]!.url}/pacs/dicom-web/studies`, { headers: json })).status).toBe(401);
    expect(await recipientStatuses(recipient)).toEqual([401, 401]);
    await expectPaused(link);
  } finally {
    await stack.idp.setUserEnabled('uploader', true);
  }
}, 40_000);

it(`a link works only while its creator was confirmed within SHARE_CONFIRM_SECONDS (${CONFIRM_SECONDS} s), and again once they are back`, async () => {
  const creator = await onA.signedIn('uploader');
  const link = await onA.created(creator, study.studyInstanceUid);
  const recipient = await recipientOf(link);
  await sleep((CONFIRM_SECONDS + 1) * 1000); // the creator made no request: nothing confirmed them, e.g. disabled while away
  expect(await recipientStatuses(recipient)).toEqual([401, 401]);
  await expectPaused(link);

  // Their next request refreshes the token: the IdP still gives them the share role.
  expect((await creator.request(`${stack.gateways[0]!.url}/auth/me`, { headers: json })).status).toBe(200);
  await recipientOf(link);
}, 60_000);
