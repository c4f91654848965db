/**
 * What a person does with OHIF in Bearer mode, in real Chromium, checked step by step: used by the
 * e2e suite (dev IdP, viewer on several origins) and the conformance suite (dev IdP and Keycloak).
 */
import { expect } from '@jest/globals';
import type { Page, Request } from 'playwright-core';
import type { PageWatch, Screenshots } from './chromium.js';
import { tagValues } from './dicomweb.js';
import { chooseFromViewerMenu, studyRow, submitIdpLogin, waitForRenderedViewport, waitForThumbnails } from './ohif.js';

const STEP_TIMEOUT = 60_000;

/** Every response so far that challenges with HTTP Basic (what makes a browser prompt for a password). */
export const basicChallenges = (watch: PageWatch) =>
  watch.responses.filter((response) => /basic/i.test(response.headers()['www-authenticate'] ?? '')).map((response) => response.url());

/** Records the DICOMweb requests a page sends to a gateway (with all headers, cookies included). */
function recordDicomweb(page: Page, gatewayUrl: string): Array<{ request: Request; headers: Promise<Record<string, string>> }> {
  const seen: Array<{ request: Request; headers: Promise<Record<string, string>> }> = [];
  page.on('request', (request) => {
    if (!request.url().startsWith(`${gatewayUrl}/pacs/dicom-web/`)) return;
    const headers = request.allHeaders();
    // OHIF keeps fetching after the journey has checked what it saw: the headers of a request made
    // then are never awaited, and reject when the page closes. Awaited ones still see the rejection.
    headers.catch(() => undefined);
    seen.push({ request, headers });
  });
  return seen;
}

export interface BearerJourney {
  /** Origin the viewer is served from. */
  viewerUrl: string;
  /** The gateway OHIF sends DICOMweb requests to. */
  gatewayUrl: string;
  /** The identity provider's issuer (OHIF's `authority`). */
  issuer: string;
  username: string;
  password: string;
  /** Patient names as OHIF's study list shows them ("Doe, Ct"); the first one is opened. */
  patients: string[];
  /** StudyInstanceUID of the first patient's study. */
  studyInstanceUid: string;
}

/**
 * The whole Bearer-mode experience on one viewer origin: OHIF sends the browser to the IdP by
 * itself, comes back with a code (PKCE), lists the studies, renders the first one with its
 * thumbnails; every DICOMweb request carries the access token and no cookie. Returns the headers
 * of those requests.
 */
export async function bearerViewerJourney(page: Page, watch: PageWatch, shots: Screenshots, journey: BearerJourney): Promise<Array<Record<string, string>>> {
  const { viewerUrl, gatewayUrl, issuer } = journey;
  const dicomweb = recordDicomweb(page, gatewayUrl);
  await page.goto(`${viewerUrl}/`);
  // OHIF itself goes to the IdP: authorization code + PKCE for the public client ohif-viewer.
  const authorizationEndpoint = `${issuer}/protocol/openid-connect/auth?`;
  await page.waitForURL((url) => url.href.startsWith(`${issuer}/`), { timeout: STEP_TIMEOUT });
  await page.locator('#kc-form-login').waitFor({ timeout: STEP_TIMEOUT });
  const authorize = watch.responses.find((response) => response.url().startsWith(authorizationEndpoint));
  const params = new URL(authorize?.url() ?? 'http://missing.invalid/').searchParams;
  expect(params.get('client_id')).toBe('ohif-viewer');
  expect(params.get('response_type')).toBe('code');
  expect(params.get('code_challenge_method')).toBe('S256');
  expect(params.get('redirect_uri')).toBe(`${viewerUrl}/callback`);
  await shots.shot(page, 'idp login page');

  await submitIdpLogin(page, journey.username, journey.password);
  await page.waitForURL((url) => url.origin === viewerUrl && url.pathname !== '/callback', { timeout: STEP_TIMEOUT });
  for (const patient of journey.patients) await studyRow(page, patient).waitFor({ timeout: STEP_TIMEOUT });
  await shots.shot(page, 'study list');

  await studyRow(page, journey.patients[0]!).click();
  await page.getByRole('button', { name: 'Basic Viewer' }).click();
  await page.waitForURL((url) => url.pathname === '/viewer' && url.searchParams.get('StudyInstanceUIDs') === journey.studyInstanceUid, { timeout: STEP_TIMEOUT });
  const pixels = await waitForRenderedViewport(page);
  expect(pixels.distinct).toBeGreaterThanOrEqual(8);
  await waitForThumbnails(page, 1);
  await shots.shot(page, 'study rendered');

  // Every DICOMweb request: Bearer token (a JWT), never the gateway's session cookie; every answer 200.
  expect(dicomweb.length).toBeGreaterThan(3);
  const sent: Array<Record<string, string>> = [];
  for (const { request, headers } of dicomweb) {
    const all = await headers;
    sent.push(all);
    const url = request.url();
    expect({ url, bearer: /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/.test(all['authorization'] ?? '') }).toEqual({ url, bearer: true });
    expect({ url, sessionCookie: /(^|;\s*)(__Host-)?gw-session=/.test(all['cookie'] ?? '') }).toEqual({ url, sessionCookie: false });
    // Answered 200, or cancelled by OHIF itself (prefetches dropped when the view changes).
    const response = await request.response();
    const outcome = response ? String(response.status()) : (request.failure()?.errorText ?? 'no answer');
    expect({ url, outcome }).toEqual({ url, outcome: response ? '200' : 'net::ERR_ABORTED' });
  }
  expect(basicChallenges(watch)).toEqual([]);
  expect(watch.dialogs).toEqual([]);
  expect(watch.cspViolations).toEqual([]);
  return sent;
}

/**
 * OHIF's Logout in Bearer mode, chosen on the viewer page (`page` shows a study of the viewer on
 * `viewerUrl`, signed in at `issuer`): OHIF revokes its tokens, then asks the IdP to end its session with the ID token and to
 * return to the viewer's start (the address the IdP has registered), not to the viewer page; back at
 * `/` signed out, OHIF sends the browser to sign in and the IdP asks for the password, as it does on
 * a new visit (its session has ended: with one still alive, the IdP would answer without its form).
 */
export async function bearerLogoutJourney(page: Page, watch: PageWatch, shots: Screenshots, { viewerUrl, issuer }: { viewerUrl: string; issuer: string }): Promise<void> {
  const endSessionEndpoint = `${issuer}/protocol/openid-connect/logout?`;
  const endSession = page.waitForRequest((request) => request.url().startsWith(endSessionEndpoint), { timeout: STEP_TIMEOUT });
  await chooseFromViewerMenu(page, 'Logout');

  const params = new URL((await endSession).url()).searchParams;
  // Before that, OHIF revoked both its tokens at the IdP (revokeAccessTokenOnSignout), accepted answers.
  const revocations = watch.responses.filter((response) => response.url() === `${issuer}/protocol/openid-connect/revoke` && response.request().method() === 'POST');
  expect(revocations.map((response) => [new URLSearchParams(response.request().postData() ?? '').get('token_type_hint'), response.status()])).toEqual([
    ['access_token', 200],
    ['refresh_token', 200],
  ]);
  expect(params.get('post_logout_redirect_uri')).toBe(`${viewerUrl}/`);
  expect(params.get('id_token_hint')).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
  await page.locator('#kc-form-login').waitFor({ timeout: STEP_TIMEOUT });
  const navigations = watch.responses.filter((response) => response.request().isNavigationRequest()).map((response) => response.url());
  const logoutAt = navigations.findIndex((url) => url.startsWith(endSessionEndpoint));
  expect(logoutAt).toBeGreaterThanOrEqual(0);
  const afterLogout = navigations.slice(logoutAt + 1);
  expect(afterLogout.some((url) => new URL(url).origin === viewerUrl && new URL(url).pathname === '/')).toBe(true);
  expect(page.url().startsWith(`${issuer}/`)).toBe(true);
  await shots.shot(page, 'signed out, login asked');

  await page.goto(`${viewerUrl}/`);
  await page.waitForURL((url) => url.href.startsWith(`${issuer}/`), { timeout: STEP_TIMEOUT });
  await page.locator('#kc-form-login').waitFor({ timeout: STEP_TIMEOUT });
  expect(watch.cspViolations).toEqual([]);
}

/** The StudyInstanceUIDs each study search (`GET …/pacs/dicom-web/studies`) the page made was answered with. */
export async function studySearchAnswers(watch: PageWatch, gatewayUrl: string): Promise<unknown[][]> {
  const searches = watch.responses.filter((response) => {
    const url = new URL(response.url());
    return url.origin === new URL(gatewayUrl).origin && url.pathname === '/pacs/dicom-web/studies' && response.request().method() === 'GET';
  });
  return Promise.all(searches.map(async (search) => tagValues(await search.json(), '0020000D')));
}
