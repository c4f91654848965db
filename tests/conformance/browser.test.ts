/**
 * The conformance suite in real Chromium, the same cases against the dev IdP and the real Keycloak:
 * a person signs in through the provider's own login page (Keycloak: its keycloak.v2 theme) to the
 * OHIF viewer the gateway serves, in session mode and in Bearer mode. The provider imports the realm
 * export with GATEWAY_PUBLIC_URL = the gateway's origin, so its redirect URIs and web origins (CORS
 * on the token endpoint, which OHIF calls from the browser) are the ones the export ships.
 *
 * One gateway at a time serves PUBLIC_URL (the origin the realm names), in the mode a case needs.
 * Screenshots of every step: test-artifacts/e2e/<test>/.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Response } from 'playwright-core';
import { launchChromium, withPage } from '../support/chromium.js';
import { startConformanceUpstreams, type ConformanceUpstreams } from '../support/conformance-stack.js';
import { makeSeries, type GeneratedSeries } from '../support/dicom.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { PROVIDERS } from '../support/identity-provider.js';
import { fetchInPage, fetchOhifDist, makeBearerDist, studyRow, submitIdpLogin, type BearerDist } from '../support/ohif.js';
import { uploadInstances } from '../support/orthanc.js';
import { basicChallenges, bearerLogoutJourney, bearerViewerJourney, studySearchAnswers, type BearerJourney } from '../support/viewer-journeys.js';

const STEP_TIMEOUT = 60_000;

describe.each(PROVIDERS)('in Chromium against %s', (providerName) => {
  let upstreams: ConformanceUpstreams | undefined;
  let browser: Browser | undefined;
  let ohifDist: string;
  let bearerDist: BearerDist | undefined;
  /** OHIF asking for the SMART patient scope too (ohif/app-config.bearer.js's one-line edit). */
  let patientDist: BearerDist | undefined;
  let ct: GeneratedSeries;
  /** A study of the realm export's patient account (patient_id DEV-CT-1). */
  let own: GeneratedSeries;

  beforeAll(async () => {
    // Assigned as each part comes up, so afterAll stops what started even when another part failed.
    await Promise.all([
      startConformanceUpstreams(providerName).then((started) => (upstreams = started)),
      launchChromium().then((launched) => (browser = launched)),
      fetchOhifDist().then((dist) => (ohifDist = dist)),
    ]);
    ct = makeSeries({ modality: 'CT', patientName: 'Browser^Ct', patientId: 'CB-CT', instances: 8, rows: 128, columns: 128, studyDescription: 'CT browser phantom' });
    own = makeSeries({ modality: 'CT', patientName: 'Patient^Own', patientId: 'DEV-CT-1', instances: 8, rows: 128, columns: 128, studyDescription: 'CT of the patient' });
    await uploadInstances(upstreams!.orthanc, [...ct.files, ...own.files]);
    bearerDist = await makeBearerDist(ohifDist, { authority: upstreams!.provider.issuer });
    patientDist = await makeBearerDist(ohifDist, { authority: upstreams!.provider.issuer, scope: 'openid profile email patient/ImagingStudy.rs' });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await upstreams?.stop();
    await bearerDist?.remove();
    await patientDist?.remove();
  }, 60_000);

  /** Runs `steps` with a gateway at PUBLIC_URL in the given viewer mode, and stops it afterwards. */
  async function withGateway(env: Record<string, string>, steps: (gateway: TestGateway) => Promise<void>): Promise<void> {
    const { gatewayEnv, port, publicUrl } = upstreams!;
    const gateway = await startTestGateway({ ...gatewayEnv, PORT: String(port), PUBLIC_URL: publicUrl, ...env });
    try {
      await steps(gateway);
    } finally {
      await gateway.close(1000);
    }
  }

  /** `username`'s Bearer-mode journey through OHIF served by the gateway at PUBLIC_URL. */
  function journeyAs(username: string, patients: string[], studyInstanceUid: string): BearerJourney {
    const { provider, publicUrl } = upstreams!;
    return { viewerUrl: publicUrl, gatewayUrl: publicUrl, issuer: provider.issuer, username, password: provider.passwords[username]!, patients, studyInstanceUid };
  }

  it('session mode: the provider\'s login page, then OHIF served by the gateway with the study listed', async () => {
    const { provider, publicUrl } = upstreams!;
    await withPage(browser!, `conformance ${providerName} session viewer`, ({ page, watch, shots }) =>
      withGateway({ OHIF_DIST: ohifDist, VIEWER_ACCESS: 'session' }, async () => {
        await page.goto(`${publicUrl}/`);
        // The gateway sends the browser to the provider, whose own login page asks for the password.
        await page.waitForURL((url) => url.href.startsWith(`${provider.issuer}/`), { timeout: STEP_TIMEOUT });
        await page.locator('#kc-form-login').waitFor({ timeout: STEP_TIMEOUT });
        const authorize = watch.responses.find((response) => response.url().startsWith(`${provider.issuer}/protocol/openid-connect/auth?`));
        const params = new URL(authorize?.url() ?? 'http://missing.invalid/').searchParams;
        expect([params.get('client_id'), params.get('redirect_uri'), params.get('code_challenge_method')]).toEqual([
          provider.clientId,
          `${publicUrl}/auth/callback`,
          'S256',
        ]);
        await shots.shot(page, 'provider login page');

        await submitIdpLogin(page, 'viewer', provider.passwords['viewer']!);
        await page.waitForURL((url) => url.origin === publicUrl && url.pathname === '/', { timeout: STEP_TIMEOUT });
        await studyRow(page, 'Browser, Ct').waitFor({ timeout: STEP_TIMEOUT });
        await shots.shot(page, 'study list');

        // OHIF's DICOMweb calls went through the gateway on the session cookie, no token in the browser.
        const dicomweb = watch.responses.filter((response: Response) => response.url().startsWith(`${publicUrl}/pacs/dicom-web/`));
        expect(dicomweb.length).toBeGreaterThan(0);
        expect(dicomweb.filter((response) => response.status() !== 200).map((r) => `${r.status()} ${r.url()}`)).toEqual([]);
        expect(dicomweb.some((response) => response.request().headers()['authorization'] !== undefined)).toBe(false);
        expect(await fetchInPage(page, '/auth/me', { headers: { accept: 'application/json' } })).toMatchObject({ status: 200 });
        expect(basicChallenges(watch)).toEqual([]);
        expect(watch.dialogs).toEqual([]);
      }),
    );
  }, 180_000);

  it('Bearer mode: OHIF signs in with its public client and PKCE, and shows the study through /pacs with Bearer', async () => {
    const { provider, publicUrl } = upstreams!;
    await withPage(browser!, `conformance ${providerName} bearer viewer`, ({ page, watch, shots }) =>
      withGateway({ OHIF_DIST: bearerDist!.dir, VIEWER_ACCESS: 'public' }, async () => {
        await bearerViewerJourney(page, watch, shots, journeyAs('viewer', ['Browser, Ct'], ct.studyInstanceUid));
        // Frames (viewport and thumbnail) came through /pacs too, each with the token (checked above).
        const paths = watch.responses.map((response) => new URL(response.url()).pathname);
        expect(paths.some((path) => /^\/pacs\/dicom-web\/studies\/[\d.]+\/series\/[\d.]+\/instances\/[\d.]+\/(frames\/\d+|thumbnail|rendered)/.test(path))).toBe(true);
        // The provider let the viewer's origin call its token endpoint (the client's web origin).
        const token = watch.responses.find((response) => response.url() === `${provider.issuer}/protocol/openid-connect/token`);
        expect(token?.status()).toBe(200);
        expect(token?.headers()['access-control-allow-origin']).toBe(publicUrl);
      }),
    );
  }, 180_000);

  it('Bearer mode Logout from the viewer page: tokens revoked, the provider ends its session (ID token, the start address the realm registers), back at `/` the login form again', async () => {
    const { provider, publicUrl } = upstreams!;
    await withPage(browser!, `conformance ${providerName} bearer logout`, ({ page, watch, shots }) =>
      withGateway({ OHIF_DIST: bearerDist!.dir, VIEWER_ACCESS: 'public' }, async () => {
        await bearerViewerJourney(page, watch, shots, journeyAs('viewer', ['Browser, Ct'], ct.studyInstanceUid));
        await bearerLogoutJourney(page, watch, shots, { viewerUrl: publicUrl, issuer: provider.issuer });
      }),
    );
  }, 240_000);

  it('Bearer mode as a patient portal: the patient account asking for patient/ImagingStudy.rs sees and opens only their own study (SMART_CLIENTS=ohif-viewer)', async () => {
    const { publicUrl } = upstreams!;
    await withPage(browser!, `conformance ${providerName} smart patient viewer`, ({ page, watch, shots }) =>
      withGateway({ OHIF_DIST: patientDist!.dir, VIEWER_ACCESS: 'public', SMART_CLIENTS: 'ohif-viewer' }, async () => {
        await bearerViewerJourney(page, watch, shots, journeyAs('patient', ['Patient, Own'], own.studyInstanceUid));
        const answers = await studySearchAnswers(watch, publicUrl);
        expect(answers.length).toBeGreaterThan(0);
        for (const answer of answers) expect(answer).toEqual([own.studyInstanceUid]);
      }),
    );
  }, 180_000);
});
