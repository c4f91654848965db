/**
 * Issue 5, session mode, in real Chromium: the pinned OHIF build served by the gateway at `/`
 * (ohif/app-config.js, no OIDC in OHIF), the dev IdP, Orthanc + DICOMweb and Redis.
 *
 * Screenshots of every step: test-artifacts/e2e/<test>/.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Page, Response } from 'playwright-core';
import { keepForDocs, launchChromium, Screenshots, withDeadline, withPage, withPages } from '../support/chromium.js';
import { makeSeries, type GeneratedSeries } from '../support/dicom.js';
import {
  fetchInPage,
  fetchOhifDist,
  studyRow,
  submitIdpLogin,
  waitForRenderedViewport,
  waitForThumbnails,
} from '../support/ohif.js';
import { orthancFetch, uploadInstances } from '../support/orthanc.js';
import { DEV_PASSWORDS, startSessionStack, type SessionStack } from '../support/session-stack.js';
import { basicChallenges } from '../support/viewer-journeys.js';

let stack: SessionStack;
let browser: Browser;
let gatewayUrl: string;
let ct: GeneratedSeries;
let mr: GeneratedSeries;
/** Orthanc's id of the CT's first instance (for /pacs/instances/{id}/preview). */
let ctInstanceId: string;

const STEP_TIMEOUT = 60_000;

beforeAll(async () => {
  const [ohifDist, chromium] = await Promise.all([fetchOhifDist(), launchChromium()]);
  browser = chromium;
  stack = await startSessionStack({ env: { OHIF_DIST: ohifDist, VIEWER_ACCESS: 'session' } });
  gatewayUrl = stack.publicUrl;
  ct = makeSeries({ modality: 'CT', patientName: 'Doe^Ct', patientId: 'E2E-CT', instances: 10, rows: 128, columns: 128, studyDescription: 'CT head phantom' });
  mr = makeSeries({ modality: 'MR', patientName: 'Roe^Mr', patientId: 'E2E-MR', instances: 10, rows: 128, columns: 128, studyDescription: 'MR brain phantom' });
  const uploaded = await uploadInstances(stack.orthanc, [...ct.files, ...mr.files]);
  ctInstanceId = uploaded[0]?.ID ?? '';
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

const isGateway = (url: URL) => url.origin === gatewayUrl;
const isIdpLoginPage = (url: URL) => url.href.startsWith(`${stack.idp.issuer}/interaction/`);
const isDicomweb = (response: Response) => response.url().startsWith(`${gatewayUrl}/pacs/dicom-web/`);

/** Every response so far that challenges with HTTP Basic (what makes a browser prompt for a password). */
/** From a page that is on the IdP's login form (after the gateway sent it there): sign in and land back on the gateway. */
async function completeSignIn(page: Page, username: string, landing: (url: URL) => boolean): Promise<void> {
  await page.waitForURL(isIdpLoginPage, { timeout: STEP_TIMEOUT });
  await submitIdpLogin(page, username, DEV_PASSWORDS[username] ?? '');
  await page.waitForURL((url) => isGateway(url) && landing(url), { timeout: STEP_TIMEOUT });
}

/** Signs `username` in the way a person does: open the viewer, get sent to the IdP, sign in, come back to the study list. */
async function signInAtViewer(page: Page, username: string): Promise<void> {
  await page.goto(`${gatewayUrl}/`);
  await completeSignIn(page, username, (url) => url.pathname === '/');
}

/** After sign-out: the gateway's "Signed out" page, and the browser stays there. */
async function expectSignedOutPage(page: Page): Promise<void> {
  await page.waitForURL((url) => isGateway(url) && url.pathname === '/auth/signed-out', { timeout: STEP_TIMEOUT });
  await page.getByRole('heading', { level: 1, name: 'Signed out' }).waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
  await page.getByRole('link', { name: 'Sign in again' }).waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
  await page.waitForTimeout(500); // nothing navigates on by itself
  expect(new URL(page.url()).pathname).toBe('/auth/signed-out');
}

async function openStudyList(page: Page, patients: string[]): Promise<void> {
  for (const patient of patients) await studyRow(page, patient).waitFor({ timeout: STEP_TIMEOUT });
}

describe('session mode: OHIF served by the gateway', () => {
  it('viewer: sign-in page, study list, a study rendered with thumbnails, sign-out ends access', async () => {
    await withPage(browser, 'session viewer study', async ({ context, page, watch, shots }) => {
      // 1. Not signed in: the viewer page sends the browser to the IdP's login form.
      await page.goto(`${gatewayUrl}/`);
      await page.waitForURL(isIdpLoginPage, { timeout: STEP_TIMEOUT });
      const firstAnswer = watch.responses.find((response) => response.url() === `${gatewayUrl}/`);
      expect(firstAnswer?.status()).toBe(302);
      expect(firstAnswer?.headers()['location']).toBe('/auth/login?returnTo=%2F');
      await shots.shot(page, 'idp login page');

      // 2. Sign in as viewer: back on OHIF's study list with both studies.
      await submitIdpLogin(page, 'viewer', DEV_PASSWORDS['viewer'] ?? '');
      await page.waitForURL((url) => isGateway(url) && url.pathname === '/', { timeout: STEP_TIMEOUT });
      await openStudyList(page, ['Doe, Ct', 'Roe, Mr']);
      await page.getByRole('button', { name: 'Sign out' }).waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
      await shots.shot(page, 'study list');

      // 3. Open the CT: pixels on the viewport canvas, thumbnail images in the study browser.
      await studyRow(page, 'Doe, Ct').click();
      await page.getByRole('button', { name: 'Basic Viewer' }).click();
      await page.waitForURL((url) => isGateway(url) && url.pathname === '/viewer' && url.searchParams.get('StudyInstanceUIDs') === ct.studyInstanceUid, {
        timeout: STEP_TIMEOUT,
      });
      const pixels = await waitForRenderedViewport(page);
      expect(pixels.distinct).toBeGreaterThanOrEqual(8);
      const thumbnails = await waitForThumbnails(page, 1);
      expect(thumbnails[0]?.width).toBeGreaterThan(0);
      await shots.shot(page, 'ct rendered');
      // Rendered under the viewer's Content-Security-Policy, without a single violation.
      const viewerPage = watch.responses.find((response) => response.url() === `${gatewayUrl}/` && response.status() === 200);
      expect(viewerPage?.headers()['content-security-policy']).toMatch(/script-src 'self' 'sha256-[^']+'.*'wasm-unsafe-eval'/);
      expect(watch.cspViolations).toEqual([]);

      // Everything OHIF asked of DICOMweb went through the gateway with the session cookie and succeeded.
      const dicomweb = watch.responses.filter(isDicomweb);
      expect(dicomweb.length).toBeGreaterThan(3);
      expect(dicomweb.filter((response) => response.status() !== 200).map((r) => `${r.status()} ${r.url()}`)).toEqual([]);
      expect(dicomweb.some((response) => response.request().headers()['authorization'] !== undefined)).toBe(false);
      expect(basicChallenges(watch)).toEqual([]);
      expect(await fetchInPage(page, '/pacs/dicom-web/studies', { headers: { accept: 'application/dicom+json' } })).toMatchObject({ status: 200 });

      // 4. Sign out with the button in OHIF's header (ohif/app-config.js): a form POST /auth/logout,
      // and the browser follows the gateway's redirect to the IdP's end-session endpoint.
      const signOut = page.getByRole('button', { name: 'Sign out' });
      await signOut.waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
      // OHIF's first-visit tour covers the page (a fresh browser profile always gets it): close it as a person would.
      await page.getByText('Skip all', { exact: true }).click({ timeout: STEP_TIMEOUT });
      await shots.shot(page, 'sign out button in the viewer');
      const logout = page.waitForResponse((response) => response.url() === `${gatewayUrl}/auth/logout`, { timeout: STEP_TIMEOUT });
      await signOut.click();
      const logoutResponse = await logout;
      expect(logoutResponse.request().method()).toBe('POST');
      expect(logoutResponse.status()).toBe(302);
      expect((logoutResponse.headers()['location'] ?? '').startsWith(`${stack.idp.issuer}/`)).toBe(true);

      // 5. The IdP ends its session too and sends the browser to the gateway's "Signed out" page: no new
      // sign-in starts by itself (the next person at a shared workstation sees who is signed in: nobody).
      await expectSignedOutPage(page);
      await shots.shot(page, 'signed out page');

      // 6. Access is gone: a DICOMweb call with this browser's cookies answers 401 (Bearer challenge, never Basic).
      const after = await context.request.get(`${gatewayUrl}/pacs/dicom-web/studies`, { headers: { accept: 'application/dicom+json' }, maxRedirects: 0 });
      expect(after.status()).toBe(401);
      expect(after.headers()['www-authenticate']).toMatch(/^Bearer /);
      expect(watch.dialogs).toEqual([]);
    });
  }, 180_000);

  it('norole: signs in and gets a clear "no access" page (403), not a broken viewer', async () => {
    await withPage(browser, 'session norole', async ({ page, watch, shots }) => {
      await page.goto(`${gatewayUrl}/`);
      await page.waitForURL(isIdpLoginPage, { timeout: STEP_TIMEOUT });
      const landing = page.waitForResponse((response) => isGateway(new URL(response.url())) && new URL(response.url()).pathname === '/' && response.status() !== 302, {
        timeout: STEP_TIMEOUT,
      });
      await submitIdpLogin(page, 'norole', DEV_PASSWORDS['norole'] ?? '');
      const page403 = await landing;
      expect(page403.status()).toBe(403);
      expect(page403.headers()['content-type']).toMatch(/^text\/html/);
      await page.getByRole('heading', { name: 'No access to the image archive' }).waitFor({ timeout: STEP_TIMEOUT });
      await expect(page.getByText('signed in as norole').count()).resolves.toBe(1);
      // Not OHIF: no viewer bundle was loaded, and the API says the same thing.
      expect(watch.responses.some((response) => /\/app\.bundle\.[0-9a-f]+\.js$/.test(response.url()))).toBe(false);
      expect(await fetchInPage(page, '/pacs/dicom-web/studies', { headers: { accept: 'application/dicom+json' } })).toMatchObject({ status: 403 });
      await shots.shot(page, 'no access page');

      await expect(page.getByRole('button', { name: 'Sign out' }).count()).resolves.toBe(1);
      expect(basicChallenges(watch)).toEqual([]);
      expect(watch.dialogs).toEqual([]);
    });
  }, 120_000);

  // A same-origin HTML form POST (Origin may be `null` there) must sign out; a cross-site one must not.
  it('the "Sign out" button of the no-access page signs out (HTML form POST /auth/logout)', async () => {
    await withPage(browser, 'session sign out form', async ({ page, shots }) => {
      await page.goto(`${gatewayUrl}/`);
      await completeSignIn(page, 'norole', (url) => url.pathname === '/');
      await page.getByRole('heading', { name: 'No access to the image archive' }).waitFor({ timeout: STEP_TIMEOUT });
      const logout = page.waitForResponse((response) => response.url() === `${gatewayUrl}/auth/logout`, { timeout: STEP_TIMEOUT });
      await page.getByRole('button', { name: 'Sign out' }).click();
      const logoutResponse = await logout;
      expect(logoutResponse.status()).toBe(302);
      await expectSignedOutPage(page);
      // "Sign in again" starts a new sign-in at the IdP, which asks for credentials again.
      await page.getByRole('link', { name: 'Sign in again' }).click();
      await page.waitForURL(isIdpLoginPage, { timeout: STEP_TIMEOUT });
      await shots.shot(page, 'sign in again at login');
    });
  }, 120_000);

  // Issue 18: one OHIF build, fitted to each signed-in user by the app-config.js the gateway serves.
  it('the viewer fits the role: name and Sign out for all, Upload only for uploader and admin, the Orthanc Explorer link only for admin', async () => {
    const users = ['viewer', 'uploader', 'admin'] as const;
    const expected = { viewer: { upload: 0, explorer: 0 }, uploader: { upload: 1, explorer: 0 }, admin: { upload: 1, explorer: 1 } };
    await withPages(browser, 'session viewer per role', users, async (pages, shots) => {
      for (const username of users) {
        const { context, page } = pages[username];
        await signInAtViewer(page, username);
        await openStudyList(page, ['Doe, Ct']);
        const me = (await (await context.request.get(`${gatewayUrl}/auth/me`)).json()) as { name?: string; username: string };
        await expect(page.locator('[data-cy="gateway-user"]').textContent()).resolves.toBe(me.name ?? me.username);
        await page.getByRole('button', { name: 'Sign out' }).waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
        await expect(page.getByRole('button', { name: 'Upload' }).count()).resolves.toBe(expected[username].upload);
        await expect(page.getByRole('link', { name: 'Orthanc Explorer' }).count()).resolves.toBe(expected[username].explorer);
        keepForDocs(await shots.shot(page, `${username} study list header`), `viewer-header-${username}`);
      }
      // The admin's link opens Orthanc Explorer (through the gateway, no second sign-in).
      const admin = pages.admin.page;
      await admin.getByText('Skip all', { exact: true }).click({ timeout: STEP_TIMEOUT }).catch(() => {}); // OHIF's first-visit tour, when shown
      await admin.getByRole('link', { name: 'Orthanc Explorer' }).click();
      await admin.waitForURL((url) => isGateway(url) && url.pathname === '/pacs-admin/app/explorer.html', { timeout: STEP_TIMEOUT });
      await admin.locator('#lookup-form').waitFor({ timeout: STEP_TIMEOUT });
      await shots.shot(admin, 'admin followed the explorer link');
      // app-config.js is per user: never cached, and a request without the session gets no user.
      const anonymous = await fetch(`${gatewayUrl}/app-config.js`);
      expect(anonymous.headers.get('cache-control')).toBe('no-store');
      expect((await anonymous.text()).startsWith('window.gatewayUser = null;\n')).toBe(true);
      for (const { watch } of Object.values(pages)) expect(watch.cspViolations).toEqual([]);
    });
  }, 240_000);

  // Issue 18: share links without curl — the page at /share-links over the existing /auth/share API.
  it('uploader creates a one-use share link on /share-links, copies it, the recipient sees the study, a second person gets "Link used up", revoking ends it; viewer gets no page', async () => {
    await withPages(browser, 'session share links page', ['uploader', 'recipient', 'late', 'viewer'], async ({ uploader, recipient, late, viewer }, shots) => {
      const all = [uploader, recipient, late, viewer];
      const page = uploader.page;
      await uploader.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: gatewayUrl });
      await signInAtViewer(page, 'uploader');
      await openStudyList(page, ['Doe, Ct']);
      await page.getByText('Skip all', { exact: true }).click({ timeout: STEP_TIMEOUT }).catch(() => {}); // OHIF's first-visit tour, when shown
      await page.getByRole('link', { name: 'Share links' }).click();
      await page.waitForURL((url) => isGateway(url) && url.pathname === '/share-links', { timeout: STEP_TIMEOUT });
      await page.getByRole('heading', { name: 'Share links' }).waitFor();
      await page.getByText('You have no share links that are still valid.').waitFor({ timeout: STEP_TIMEOUT });

      // Find the CT by patient name, create a link valid for one hour, to be opened once.
      await page.getByLabel('Patient name').fill('Doe');
      await page.getByLabel('Link valid for').selectOption({ label: '1 hour' });
      await page.getByLabel('Opens at most').selectOption({ label: 'Once' });
      await page.getByRole('button', { name: 'Find studies' }).click();
      // The page load's unfiltered search lists both studies: count once the filtered answer is shown.
      await page.getByText('1 studies found.').waitFor({ timeout: STEP_TIMEOUT });
      const ctRow = page.locator('#studies tbody tr', { hasText: 'Doe, Ct' });
      await ctRow.waitFor({ timeout: STEP_TIMEOUT });
      await expect(page.locator('#studies tbody tr').count()).resolves.toBe(1);
      await expect(ctRow.textContent()).resolves.toContain('CT head phantom');
      await shots.shot(page, 'uploader found the study');
      const created = page.waitForResponse((response) => response.url() === `${gatewayUrl}/auth/share` && response.request().method() === 'POST');
      await ctRow.getByRole('button', { name: 'Create link' }).click();
      const answer = await created;
      expect(answer.status()).toBe(201);
      const link = (await answer.json()) as { url: string; expiresAt: string; maxUses: number; usesLeft: number };
      expect([link.maxUses, link.usesLeft]).toEqual([1, 1]);
      expect(Date.parse(link.expiresAt) - Date.now()).toBeLessThanOrEqual(3_600_000);
      expect(Date.parse(link.expiresAt) - Date.now()).toBeGreaterThan(3_500_000);
      await expect(page.getByLabel('New link').inputValue()).resolves.toBe(link.url);
      const listed = page.locator('#links tbody tr', { hasText: 'Doe, Ct' });
      await listed.waitFor({ timeout: STEP_TIMEOUT });
      await expect(listed.textContent()).resolves.toContain('1 of 1');
      await listed.getByRole('button', { name: 'Copy link' }).click();
      await page.getByText('Link copied to the clipboard.').waitFor({ timeout: STEP_TIMEOUT });
      await expect(page.evaluate('navigator.clipboard.readText()')).resolves.toBe(link.url);
      keepForDocs(await shots.shot(page, 'uploader link created and copied'), 'share-links');

      // The recipient, never signed in, opens the link and lands in the viewer on that study.
      await recipient.page.goto(link.url);
      await recipient.page.waitForURL((url) => isGateway(url) && url.pathname === '/viewer' && url.searchParams.get('StudyInstanceUIDs') === ct.studyInstanceUid, {
        timeout: STEP_TIMEOUT,
      });
      await waitForRenderedViewport(recipient.page);
      await shots.shot(recipient.page, 'recipient sees the shared study');
      // Reopening the link in the recipient's browser keeps their session and uses nothing.
      await recipient.page.goto(link.url);
      await recipient.page.waitForURL((url) => isGateway(url) && url.pathname === '/viewer', { timeout: STEP_TIMEOUT });

      // The one use is spent: anyone else gets the "Link used up" page; the uploader's list says so.
      const usedUp = await late.page.goto(link.url);
      expect(usedUp?.status()).toBe(410);
      await late.page.getByRole('heading', { level: 1, name: 'Link used up' }).waitFor();
      await late.page.getByText('Ask the person who shared this link for a new one.').waitFor();
      await shots.shot(late.page, 'used-up link refused');
      await page.reload();
      await expect(page.locator('#links tbody tr', { hasText: 'Doe, Ct' }).textContent()).resolves.toContain('0 of 1');

      // Revoking: the list empties and the link no longer opens anything.
      await listed.getByRole('button', { name: 'Revoke' }).click();
      await page.getByText('Link revoked: it no longer opens the study.').waitFor({ timeout: STEP_TIMEOUT });
      await page.getByText('You have no share links that are still valid.').waitFor({ timeout: STEP_TIMEOUT });
      await shots.shot(page, 'uploader revoked the link');
      const refused = await late.page.goto(link.url);
      expect(refused?.status()).toBe(404);
      await late.page.getByRole('heading', { name: 'Link not valid' }).waitFor();
      await late.page.getByText('Ask the person who shared this link for a new one.').waitFor();
      await shots.shot(late.page, 'revoked link refused');

      // A viewer has no share role: no link in OHIF's header, and the page refuses them.
      await signInAtViewer(viewer.page, 'viewer');
      await openStudyList(viewer.page, ['Doe, Ct']);
      await expect(viewer.page.getByRole('link', { name: 'Share links' }).count()).resolves.toBe(0);
      const forbidden = await viewer.page.goto(`${gatewayUrl}/share-links`);
      expect(forbidden?.status()).toBe(403);
      await viewer.page.getByRole('heading', { name: 'No access to share links' }).waitFor();
      await shots.shot(viewer.page, 'viewer refused');
      for (const { watch } of all) {
        expect(watch.cspViolations).toEqual([]);
        expect(watch.dialogs).toEqual([]);
      }
    });
  }, 240_000);

  it('admin browses studies in Orthanc Explorer; viewer gets 403 there', async () => {
    await withPages(browser, 'session explorer', ['admin', 'viewer'], async ({ admin, viewer }, shots) => {
      // admin: the Explorer link sends them through sign-in and back to the Explorer.
      const explorer = `${gatewayUrl}/pacs-admin/app/explorer.html`;
      await admin.page.goto(explorer);
      await completeSignIn(admin.page, 'admin', (url) => url.pathname === '/pacs-admin/app/explorer.html');
      await admin.page.locator('#lookup-form').waitFor({ timeout: STEP_TIMEOUT });
      await shots.shot(admin.page, 'admin explorer home');
      await admin.page.getByRole('link', { name: 'All studies' }).click();
      const ctStudy = admin.page.locator('#all-studies li', { hasText: 'CT head phantom' });
      await ctStudy.waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
      await admin.page.locator('#all-studies li', { hasText: 'MR brain phantom' }).waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
      await shots.shot(admin.page, 'admin explorer all studies');
      await ctStudy.click();
      const ctSeries = admin.page.locator('#list-series li', { hasText: 'CT phantom' });
      await ctSeries.waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
      await shots.shot(admin.page, 'admin explorer study series');
      await ctSeries.click();
      await admin.page.locator('#list-instances li').nth(9).waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
      await shots.shot(admin.page, 'admin explorer series instances');
      // The upload page's one inline handler (allowed by its hash) still opens the file chooser.
      await admin.page.goto(`${explorer}#upload`);
      const chooser = admin.page.waitForEvent('filechooser', { timeout: STEP_TIMEOUT });
      await admin.page.locator('#fileupload-proxy').click();
      await chooser;
      const explorerPage = admin.watch.responses.find((response) => response.url() === explorer && response.status() === 200);
      expect(explorerPage?.headers()['content-security-policy']).toMatch(/default-src 'self'/);
      expect(admin.watch.cspViolations).toEqual([]);
      const adminCalls = admin.watch.responses.filter((response) => response.url().startsWith(`${gatewayUrl}/pacs-admin/`));
      expect(adminCalls.filter((response) => response.status() >= 400).map((r) => `${r.status()} ${r.url()}`)).toEqual([]);
      expect(basicChallenges(admin.watch)).toEqual([]);

      // viewer: signed in, but the Explorer is for the admin role only.
      await signInAtViewer(viewer.page, 'viewer');
      const refused = await viewer.page.goto(explorer);
      expect(refused?.status()).toBe(403);
      expect(refused?.headers()['content-type']).toMatch(/^text\/html/);
      await viewer.page.getByRole('heading', { name: 'No access to Orthanc administration' }).waitFor({ timeout: STEP_TIMEOUT });
      await expect(viewer.page.getByRole('button', { name: 'Sign out' }).count()).resolves.toBe(1);
      await shots.shot(viewer.page, 'viewer explorer refused');
      expect(basicChallenges(viewer.watch)).toEqual([]);
      expect([...admin.watch.dialogs, ...viewer.watch.dialogs]).toEqual([]);
    });
  }, 150_000);

  it('an <img> of /pacs/instances/{id}/preview on the gateway origin: shown when signed in, 401 and no password prompt once signed out or never signed in', async () => {
    const pagePath = '/e2e/preview-page.html';
    const previewPath = `/pacs/instances/${ctInstanceId}/preview`;
    const html = `<!doctype html><html><head><title>preview</title></head><body style="background:#fff">
<h1>Preview of one CT slice</h1><img id="preview" src="${previewPath}" alt="CT preview"></body></html>`;
    const imageState = `(() => { const img = document.getElementById('preview'); return img && img.complete ? { width: img.naturalWidth, height: img.naturalHeight } : null; })()`;
    await withPages(browser, 'session preview img', ['signedIn', 'signedOut'], async ({ signedIn, signedOut }, shots) => {
      for (const { page } of [signedIn, signedOut]) {
        // A page of the gateway's own origin (fulfilled by the browser, so the gateway needs no test route).
        await page.route(`${gatewayUrl}${pagePath}`, (route) => route.fulfill({ status: 200, contentType: 'text/html', body: html }));
      }

      await signInAtViewer(signedIn.page, 'viewer');
      const shown = signedIn.page.waitForResponse(`${gatewayUrl}${previewPath}`, { timeout: STEP_TIMEOUT });
      await signedIn.page.goto(`${gatewayUrl}${pagePath}`);
      const ok = await shown;
      expect(ok.status()).toBe(200);
      expect(ok.headers()['content-type']).toMatch(/^image\//);
      const size = (await (await signedIn.page.waitForFunction(imageState, undefined, { timeout: STEP_TIMEOUT })).jsonValue()) as { width: number; height: number };
      expect(size).toEqual({ width: 128, height: 128 });
      await shots.shot(signedIn.page, 'signed in image shown');

      // Signing out in the same tab: the same page's image now fails with 401 (nothing served from a cache).
      // (With page.route active Chromium reports no response event for the redirect: check its effect instead.)
      const logout = await fetchInPage(signedIn.page, '/auth/logout', { method: 'POST' });
      expect(logout.status).toBe(0); // redirect: 'manual' → an opaque redirect, i.e. the gateway answered 302
      expect(await fetchInPage(signedIn.page, '/auth/me')).toMatchObject({ status: 401 });
      const afterLogout = signedIn.page.waitForResponse(`${gatewayUrl}${previewPath}`, { timeout: STEP_TIMEOUT });
      await signedIn.page.goto(`${gatewayUrl}${pagePath}`);
      expect((await afterLogout).status()).toBe(401);
      const gone = (await (await signedIn.page.waitForFunction(imageState, undefined, { timeout: STEP_TIMEOUT })).jsonValue()) as { width: number };
      expect(gone.width).toBe(0);
      await shots.shot(signedIn.page, 'signed out image refused');

      const failed = signedOut.page.waitForResponse(`${gatewayUrl}${previewPath}`, { timeout: STEP_TIMEOUT });
      await signedOut.page.goto(`${gatewayUrl}${pagePath}`);
      const refused = await failed;
      expect(refused.status()).toBe(401);
      expect(refused.headers()['www-authenticate']).toMatch(/^Bearer /);
      const broken = (await (await signedOut.page.waitForFunction(imageState, undefined, { timeout: STEP_TIMEOUT })).jsonValue()) as { width: number };
      expect(broken.width).toBe(0);
      await shots.shot(signedOut.page, 'never signed in image refused');

      for (const { watch } of [signedIn, signedOut]) {
        expect(basicChallenges(watch)).toEqual([]);
        expect(watch.dialogs).toEqual([]);
      }
    });
  }, 120_000);

  it("uploader's upload through OHIF's DICOM upload (STOW-RS) appears in the study list; viewer has no Upload button and the gateway refuses its STOW", async () => {
    const fromUploader = makeSeries({ modality: 'CT', patientName: 'Upload^Ulla', patientId: 'E2E-UP', instances: 3, rows: 64, columns: 64 });
    const asFiles = (series: GeneratedSeries, prefix: string) =>
      series.files.map((file, index) => ({ name: `${prefix}-${index + 1}.dcm`, mimeType: 'application/dicom', buffer: Buffer.from(file) }));
    const isStow = (response: Response) => response.request().method() === 'POST' && response.url().startsWith(`${gatewayUrl}/pacs/dicom-web/studies`);

    async function uploadThroughOhif(page: Page, shots: Screenshots, files: ReturnType<typeof asFiles>, label: string): Promise<Response[]> {
      await page.getByRole('button', { name: 'Upload' }).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByText('Add files').waitFor({ timeout: STEP_TIMEOUT });
      await shots.shot(page, `${label} upload dialog`);
      const stows: Response[] = [];
      const allAnswered = new Promise<void>((resolve) => {
        page.on('response', (response) => {
          if (!isStow(response)) return;
          stows.push(response);
          if (stows.length === files.length) resolve();
        });
      });
      await dialog.locator('input[type=file]:not([webkitdirectory])').setInputFiles(files);
      await withDeadline(allAnswered, STEP_TIMEOUT, () => `${label}: only ${stows.length} of ${files.length} STOW requests answered`);
      return stows;
    }

    await withPages(browser, 'session upload', ['uploader', 'viewer'], async ({ uploader, viewer }, shots) => {
      // uploader: upload three files; each STOW-RS request is accepted and the study shows up in the list.
      await signInAtViewer(uploader.page, 'uploader');
      await openStudyList(uploader.page, ['Doe, Ct']);
      const accepted = await uploadThroughOhif(uploader.page, shots, asFiles(fromUploader, 'ulla'), 'uploader');
      expect(accepted.map((response) => response.status())).toEqual(accepted.map(() => 200));
      // OHIF's own summary of the upload.
      const uploaderDialog = uploader.page.getByRole('dialog');
      await uploaderDialog.getByText('3 files completed.').waitFor({ timeout: STEP_TIMEOUT });
      await uploaderDialog.getByText('Completed!', { exact: true }).waitFor({ timeout: STEP_TIMEOUT });
      await shots.shot(uploader.page, 'uploader upload finished');
      await uploaderDialog.getByRole('button', { name: 'Close', exact: true }).first().click();
      await uploaderDialog.waitFor({ state: 'detached', timeout: STEP_TIMEOUT });
      await openStudyList(uploader.page, ['Upload, Ulla']);
      await shots.shot(uploader.page, 'uploader study list with upload');
      const stored = await orthancFetch(stack.orthanc, `/dicom-web/studies?StudyInstanceUID=${fromUploader.studyInstanceUid}`);
      expect(((await stored.json()) as unknown[]).length).toBe(1);

      // viewer: OHIF offers no Upload (app-config.js per user), and a STOW from the page is still refused by role.
      await signInAtViewer(viewer.page, 'viewer');
      await openStudyList(viewer.page, ['Doe, Ct', 'Upload, Ulla']);
      await expect(viewer.page.getByRole('button', { name: 'Upload' }).count()).resolves.toBe(0);
      await shots.shot(viewer.page, 'viewer study list without upload');
      expect(await fetchInPage(viewer.page, '/pacs/dicom-web/studies', { method: 'POST', headers: { 'content-type': 'multipart/related; type="application/dicom"; boundary=x' } })).toMatchObject({
        status: 403,
      });
      expect(basicChallenges(uploader.watch)).toEqual([]);
      expect(basicChallenges(viewer.watch)).toEqual([]);
      expect([...uploader.watch.cspViolations, ...viewer.watch.cspViolations]).toEqual([]);
    });
  }, 180_000);
});
