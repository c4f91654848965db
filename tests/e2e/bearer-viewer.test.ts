/**
 * Issue 5, Bearer mode, in real Chromium: OHIF with its own `oidc` config (ohif/app-config.bearer.js,
 * public client `ohif-viewer`, code + PKCE against the dev IdP) sending `Authorization: Bearer` to
 * the gateway's /pacs/dicom-web:
 *  - from a DIFFERENT origin (a plain static server), so the gateway's CORS (CORS_ORIGINS) is used
 *    for real;
 *  - from the gateway's own origin (OHIF_DIST with VIEWER_ACCESS=public);
 *  - as a patient portal: OHIF asking for patient/ImagingStudy.rs, a gateway with
 *    SMART_CLIENTS=ohif-viewer, the dev IdP's `patient` account listing only their own study.
 *
 * Screenshots of every step: test-artifacts/e2e/<test>/.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser } from 'playwright-core';
import { launchChromium, withPage, withPages, type OpenPage } from '../support/chromium.js';
import { makeSeries, type GeneratedSeries } from '../support/dicom.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { fetchOhifDist, makeBearerDist, studyRow, submitIdpLogin, type BearerDist } from '../support/ohif.js';
import { uploadInstances } from '../support/orthanc.js';
import { DEV_PASSWORDS, startSessionStack, type SessionStack } from '../support/session-stack.js';
import { startStaticServer, type StaticServer } from '../support/static-server.js';
import { bearerLogoutJourney, bearerViewerJourney, studySearchAnswers, type BearerJourney } from '../support/viewer-journeys.js';

const PATIENT_SCOPE = 'patient/ImagingStudy.rs';
const STEP_TIMEOUT = 60_000;

/** An origin the gateway does not list in CORS_ORIGINS (its page is fulfilled by the browser itself). */
const UNLISTED_ORIGIN = 'http://unlisted-viewer.localhost:5999';

let stack: SessionStack;
let browser: Browser;
let crossOriginDir: string;
let crossOriginSite: StaticServer;
let crossOriginDist: BearerDist;
let sameOriginDist: BearerDist;
let patientDist: BearerDist;
/** A gateway serving a patient-scope viewer, governing ohif-viewer by SMART scopes. */
let patientViewerGateway: TestGateway;
let ownStudy: GeneratedSeries;
/** A second gateway serving the Bearer-mode viewer itself, VIEWER_ACCESS=public. */
let publicViewerGateway: TestGateway;
let ct: GeneratedSeries;
let mr: GeneratedSeries;

beforeAll(async () => {
  const [ohifDist, chromium] = await Promise.all([fetchOhifDist(), launchChromium()]);
  browser = chromium;
  // The viewer's origin must be known before the gateway starts (CORS_ORIGINS); its files follow once the IdP's issuer is known.
  crossOriginDir = await mkdtemp(join(tmpdir(), 'ohif-cross-origin-'));
  crossOriginSite = await startStaticServer(crossOriginDir);
  stack = await startSessionStack({ env: { CORS_ORIGINS: crossOriginSite.origin }, smartClients: ['ohif-viewer'] });
  const gatewayUrl = stack.publicUrl;
  crossOriginDist = await makeBearerDist(ohifDist, { authority: stack.idp.issuer, gatewayUrl, into: crossOriginDir });
  sameOriginDist = await makeBearerDist(ohifDist, { authority: stack.idp.issuer });
  publicViewerGateway = await startTestGateway({
    OIDC_ISSUER: stack.idp.issuer,
    ORTHANC_URL: stack.orthanc.url,
    ORTHANC_USERNAME: stack.orthanc.username,
    ORTHANC_PASSWORD: stack.orthanc.password,
    OHIF_DIST: sameOriginDist.dir,
    VIEWER_ACCESS: 'public',
  });
  patientDist = await makeBearerDist(ohifDist, { authority: stack.idp.issuer, scope: `openid profile email ${PATIENT_SCOPE}` });
  patientViewerGateway = await startTestGateway({
    OIDC_ISSUER: stack.idp.issuer,
    ORTHANC_URL: stack.orthanc.url,
    ORTHANC_USERNAME: stack.orthanc.username,
    ORTHANC_PASSWORD: stack.orthanc.password,
    OHIF_DIST: patientDist.dir,
    VIEWER_ACCESS: 'public',
    SMART_CLIENTS: 'ohif-viewer',
  });
  // The public client ohif-viewer: redirect URIs and web origins (token endpoint CORS) of every viewer.
  const viewerOrigins = [crossOriginSite.origin, publicViewerGateway.url, patientViewerGateway.url];
  stack.idp.configureClients({
    appOrigin: gatewayUrl,
    clientOverrides: {
      'ohif-viewer': {
        extraRedirectUris: viewerOrigins.flatMap((origin) => [`${origin}/callback`, `${origin}/silent-refresh.html`]),
        postLogoutRedirectUris: [`${gatewayUrl}/`, ...viewerOrigins.map((origin) => `${origin}/`)],
        webOrigins: [gatewayUrl, ...viewerOrigins],
      },
    },
  });
  ct = makeSeries({ modality: 'CT', patientName: 'Bearer^Ct', patientId: 'E2E-B-CT', instances: 10, rows: 128, columns: 128, studyDescription: 'CT bearer phantom' });
  mr = makeSeries({ modality: 'MR', patientName: 'Bearer^Mr', patientId: 'E2E-B-MR', instances: 10, rows: 128, columns: 128, studyDescription: 'MR bearer phantom' });
  // The realm export's patient account has patient_id DEV-CT-1.
  ownStudy = makeSeries({ modality: 'CT', patientName: 'Patient^Own', patientId: 'DEV-CT-1', instances: 10, rows: 128, columns: 128, studyDescription: 'CT of the patient' });
  await uploadInstances(stack.orthanc, [...ct.files, ...mr.files, ...ownStudy.files]);
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await publicViewerGateway?.close(1000);
  await patientViewerGateway?.close(1000);
  await crossOriginSite?.close();
  await stack?.stop();
  await Promise.all([crossOriginDist?.remove(), sameOriginDist?.remove(), patientDist?.remove(), crossOriginDir ? rm(crossOriginDir, { recursive: true, force: true }) : undefined]);
});

/** The Bearer-mode journey as the dev IdP's `viewer`, through a viewer on `viewerUrl` calling the gateway at `gatewayUrl`. */
const journey = (viewerUrl: string, gatewayUrl: string): BearerJourney => ({
  viewerUrl,
  gatewayUrl,
  issuer: stack.idp.issuer,
  username: 'viewer',
  password: DEV_PASSWORDS['viewer'] ?? '',
  patients: ['Bearer, Ct', 'Bearer, Mr'],
  studyInstanceUid: ct.studyInstanceUid,
});

describe('Bearer mode: OHIF signs in by itself and sends Authorization: Bearer', () => {
  it('OHIF on a different origin than the gateway (CORS_ORIGINS)', async () => {
    await withPage(browser, 'bearer cross origin', async ({ page, watch, shots }) => {
      const sent = await bearerViewerJourney(page, watch, shots, journey(crossOriginSite.url, stack.publicUrl));
      // Cross-origin without credentials: the browser sends no cookie at all.
      expect(sent.filter((headers) => headers['cookie'] !== undefined)).toEqual([]);
      // The gateway's CORS answers, as the browser received them: only this origin, no credentials, Vary: Origin.
      const answers = watch.responses.filter((response) => response.url().startsWith(`${stack.publicUrl}/pacs/dicom-web/`));
      expect(answers.length).toBeGreaterThan(3);
      for (const response of answers) {
        const headers = await response.allHeaders();
        expect({ url: response.url(), allowOrigin: headers['access-control-allow-origin'], credentials: headers['access-control-allow-credentials'] }).toEqual({
          url: response.url(),
          allowOrigin: crossOriginSite.origin,
          credentials: undefined,
        });
        expect(headers['vary']).toMatch(/origin/i);
      }
    });
  }, 180_000);

  it('OHIF served by the gateway itself (VIEWER_ACCESS=public)', async () => {
    await withPage(browser, 'bearer same origin', async ({ page, watch, shots }) => {
      await bearerViewerJourney(page, watch, shots, journey(publicViewerGateway.url, publicViewerGateway.url));
      // The viewer's Content-Security-Policy lets OHIF reach the IdP (discovery, keys, tokens) and nothing else.
      const viewerPage = watch.responses.find((response) => response.url() === `${publicViewerGateway.url}/` && response.status() === 200);
      expect(viewerPage?.headers()['content-security-policy']).toContain(`connect-src 'self' ${new URL(stack.idp.issuer).origin};`);
    });
  }, 180_000);

  /** Signs `username` in to the Bearer-mode viewer the gateway serves, in `page`: the study list. */
  async function signInToViewer(page: OpenPage['page'], username: string): Promise<void> {
    await page.goto(`${publicViewerGateway.url}/`);
    await submitIdpLogin(page, username, DEV_PASSWORDS[username] ?? '');
    await page.waitForURL((url) => url.origin === publicViewerGateway.url && url.pathname === '/', { timeout: STEP_TIMEOUT });
    await studyRow(page, 'Bearer, Ct').waitFor({ timeout: STEP_TIMEOUT });
  }

  it('fitted to the user: the Upload button only for a user the gateway lets upload (GET /auth/me canUpload)', async () => {
    await withPages(browser, 'bearer upload fitted to the user', ['viewer', 'uploader'], async (pages, shots) => {
      for (const [username, uploads] of [['viewer', 0], ['uploader', 1]] as const) {
        const opened = pages[username];
        await signInToViewer(opened.page, username);
        // The button appears once OHIF's data source started: give it that moment before counting.
        if (uploads) await opened.page.getByRole('button', { name: 'Upload' }).waitFor({ timeout: STEP_TIMEOUT });
        await expect(opened.page.getByRole('button', { name: 'Upload' }).count()).resolves.toBe(uploads);
        const asked = opened.watch.responses.filter((response) => response.url() === `${publicViewerGateway.url}/auth/me`);
        expect(asked.map((response) => response.status())).toContain(200);
        await shots.shot(opened.page, `${username} study list`);
        expect(opened.watch.cspViolations).toEqual([]);
      }
    });
  }, 240_000);

  it('Logout from the viewer page: tokens revoked, RP-initiated logout at the IdP, back at `/` signed out, a new visit asks for a login', async () => {
    await withPage(browser, 'bearer sign out', async ({ page, watch, shots }) => {
      const viewerUrl = publicViewerGateway.url;
      await signInToViewer(page, 'viewer');
      await studyRow(page, 'Bearer, Ct').click();
      await page.getByRole('button', { name: 'Basic Viewer' }).click();
      await page.waitForURL((url) => url.pathname === '/viewer', { timeout: STEP_TIMEOUT });
      await bearerLogoutJourney(page, watch, shots, { viewerUrl, issuer: stack.idp.issuer });
    });
  }, 180_000);

  it('a patient portal: OHIF asking for patient/ImagingStudy.rs (SMART_CLIENTS=ohif-viewer) lists and opens only the patient\'s study', async () => {
    await withPage(browser, 'bearer smart patient', async ({ page, watch, shots }) => {
      const gatewayUrl = patientViewerGateway.url;
      await bearerViewerJourney(page, watch, shots, {
        viewerUrl: gatewayUrl,
        gatewayUrl,
        issuer: stack.idp.issuer,
        username: 'patient',
        password: DEV_PASSWORDS['patient'] ?? '',
        patients: ['Patient, Own'],
        studyInstanceUid: ownStudy.studyInstanceUid,
      });
      const authorize = watch.responses.find((response) => response.url().startsWith(`${stack.idp.issuer}/protocol/openid-connect/auth?`));
      expect(new URL(authorize!.url()).searchParams.get('scope')?.split(' ')).toContain(PATIENT_SCOPE);
      // Every study search OHIF made was answered with the patient's study only.
      const answers = await studySearchAnswers(watch, gatewayUrl);
      expect(answers.length).toBeGreaterThan(0);
      for (const answer of answers) expect(answer).toEqual([ownStudy.studyInstanceUid]);
    });
  }, 180_000);

  it('a page on an origin not in CORS_ORIGINS cannot call the DICOMweb API, even with a valid token', async () => {
    await withPage(browser, 'bearer unlisted origin', async ({ page, watch, shots }) => {
      // The preflight itself, as any client sends it: refused, no CORS allow headers, Vary: Origin.
      const preflight = (origin: string) =>
        fetch(`${stack.publicUrl}/pacs/dicom-web/studies`, {
          method: 'OPTIONS',
          headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
        });
      const unlisted = await preflight(UNLISTED_ORIGIN);
      expect(unlisted.status).toBeGreaterThanOrEqual(400);
      expect([...unlisted.headers.keys()].filter((name) => name.startsWith('access-control-'))).toEqual([]);
      expect(unlisted.headers.get('vary')).toMatch(/origin/i);
      const listed = await preflight(crossOriginSite.origin);
      expect(listed.status).toBe(204);
      expect(listed.headers.get('access-control-allow-origin')).toBe(crossOriginSite.origin);
      expect(listed.headers.get('access-control-allow-headers')).toMatch(/authorization/i);
      expect(listed.headers.get('access-control-allow-credentials')).toBeNull();

      // In Chromium: a page of the unlisted origin calling the API fails the CORS check.
      await page.route(`${UNLISTED_ORIGIN}/**`, (route) =>
        route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>unlisted</title><h1>A page on an unlisted origin</h1>' }),
      );
      await page.goto(`${UNLISTED_ORIGIN}/`);
      const outcome = await page.evaluate<string>(
        `fetch(${JSON.stringify(`${stack.publicUrl}/pacs/dicom-web/studies`)}, { headers: { authorization: 'Bearer abc.def.ghi', accept: 'application/dicom+json' } })
           .then((r) => 'answered ' + r.status, (e) => 'blocked: ' + e.name)`,
      );
      expect(outcome).toBe('blocked: TypeError');
      await shots.shot(page, 'unlisted origin page');
      expect(watch.dialogs).toEqual([]);
    });
  }, 60_000);
});
