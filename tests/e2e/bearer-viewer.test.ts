/**
 * Issue 5, Bearer mode, in real Chromium: OHIF with its own `oidc` config (ohif/app-config.bearer.js,
 * public client `ohif-viewer`, code + PKCE against the dev IdP) sending `Authorization: Bearer` to
 * the gateway's /pacs/dicom-web:
 *  - from a DIFFERENT origin (a plain static server), so the gateway's CORS (CORS_ORIGINS) is used
 *    for real;
 *  - from the gateway's own origin (OHIF_DIST with VIEWER_ACCESS=public).
 *
 * Screenshots of every step: test-artifacts/e2e/<test>/.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Page, Request } from 'playwright-core';
import { launchChromium, newPage, Screenshots, type PageWatch } from '../support/chromium.js';
import { makeSeries, type GeneratedSeries } from '../support/dicom.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { fetchOhifDist, makeBearerDist, studyRow, submitIdpLogin, waitForRenderedViewport, waitForThumbnails, type BearerDist } from '../support/ohif.js';
import { uploadInstances } from '../support/orthanc.js';
import { DEV_PASSWORDS, startSessionStack, type SessionStack } from '../support/session-stack.js';
import { startStaticServer, type StaticServer } from '../support/static-server.js';

const STEP_TIMEOUT = 60_000;
/** An origin the gateway does not list in CORS_ORIGINS (its page is fulfilled by the browser itself). */
const UNLISTED_ORIGIN = 'http://unlisted-viewer.localhost:5999';

let stack: SessionStack;
let browser: Browser;
let crossOriginDir: string;
let crossOriginSite: StaticServer;
let crossOriginDist: BearerDist;
let sameOriginDist: BearerDist;
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
  stack = await startSessionStack({ env: { CORS_ORIGINS: crossOriginSite.origin } });
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
  // The public client ohif-viewer: redirect URIs and web origins (token endpoint CORS) of both viewers.
  const viewerOrigins = [crossOriginSite.origin, publicViewerGateway.url];
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
  await uploadInstances(stack.orthanc, [...ct.files, ...mr.files]);
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await publicViewerGateway?.close(1000);
  await crossOriginSite?.close();
  await stack?.stop();
  await Promise.all([crossOriginDist?.remove(), sameOriginDist?.remove(), crossOriginDir ? rm(crossOriginDir, { recursive: true, force: true }) : undefined]);
});

const basicChallenges = (watch: PageWatch) =>
  watch.responses.filter((response) => /basic/i.test(response.headers()['www-authenticate'] ?? '')).map((response) => response.url());

/** Records the DICOMweb requests a page sends to a gateway (with all headers, cookies included). */
function recordDicomweb(page: Page, gatewayUrl: string): Array<{ request: Request; headers: Promise<Record<string, string>> }> {
  const seen: Array<{ request: Request; headers: Promise<Record<string, string>> }> = [];
  page.on('request', (request) => {
    if (request.url().startsWith(`${gatewayUrl}/pacs/dicom-web/`)) seen.push({ request, headers: request.allHeaders() });
  });
  return seen;
}

/**
 * The whole Bearer-mode experience on one viewer origin: OHIF sends the browser to the IdP by
 * itself, comes back with a code (PKCE), lists the studies, renders the CT; every DICOMweb request
 * carries the access token and no cookie.
 */
async function bearerViewerJourney(
  page: Page,
  watch: PageWatch,
  shots: Screenshots,
  viewerUrl: string,
  gatewayUrl: string,
): Promise<Array<Record<string, string>>> {
  const dicomweb = recordDicomweb(page, gatewayUrl);
  await page.goto(`${viewerUrl}/`);
  // OHIF itself goes to the IdP: authorization code + PKCE for the public client ohif-viewer.
  await page.waitForURL((url) => url.href.startsWith(`${stack.idp.issuer}/interaction/`), { timeout: STEP_TIMEOUT });
  const authorize = watch.responses.find((response) => response.url().startsWith(`${stack.idp.issuer}/protocol/openid-connect/auth?`));
  const params = new URL(authorize?.url() ?? 'http://missing.invalid/').searchParams;
  expect(params.get('client_id')).toBe('ohif-viewer');
  expect(params.get('response_type')).toBe('code');
  expect(params.get('code_challenge_method')).toBe('S256');
  expect(params.get('redirect_uri')).toBe(`${viewerUrl}/callback`);
  await shots.shot(page, 'idp login page');

  await submitIdpLogin(page, 'viewer', DEV_PASSWORDS['viewer'] ?? '');
  await page.waitForURL((url) => url.origin === viewerUrl && url.pathname !== '/callback', { timeout: STEP_TIMEOUT });
  for (const patient of ['Bearer, Ct', 'Bearer, Mr']) await studyRow(page, patient).waitFor({ timeout: STEP_TIMEOUT });
  await shots.shot(page, 'study list');

  await studyRow(page, 'Bearer, Ct').click();
  await page.getByRole('button', { name: 'Basic Viewer' }).click();
  await page.waitForURL((url) => url.pathname === '/viewer' && url.searchParams.get('StudyInstanceUIDs') === ct.studyInstanceUid, { timeout: STEP_TIMEOUT });
  const pixels = await waitForRenderedViewport(page);
  expect(pixels.distinct).toBeGreaterThanOrEqual(8);
  await waitForThumbnails(page, 1);
  await shots.shot(page, 'ct rendered');

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

describe('Bearer mode: OHIF signs in by itself and sends Authorization: Bearer', () => {
  it('OHIF on a different origin than the gateway (CORS_ORIGINS)', async () => {
    const shots = new Screenshots('bearer cross origin');
    const { context, page, watch } = await newPage(browser);
    try {
      await shots.run([page], async () => {
        const sent = await bearerViewerJourney(page, watch, shots, crossOriginSite.url, stack.publicUrl);
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
    } finally {
      shots.note('page errors', watch.errors);
      await context.close();
    }
  }, 180_000);

  it('OHIF served by the gateway itself (VIEWER_ACCESS=public)', async () => {
    const shots = new Screenshots('bearer same origin');
    const { context, page, watch } = await newPage(browser);
    try {
      await shots.run([page], async () => {
        await bearerViewerJourney(page, watch, shots, publicViewerGateway.url, publicViewerGateway.url);
        // The viewer's Content-Security-Policy lets OHIF reach the IdP (discovery, keys, tokens) and nothing else.
        const viewerPage = watch.responses.find((response) => response.url() === `${publicViewerGateway.url}/` && response.status() === 200);
        expect(viewerPage?.headers()['content-security-policy']).toContain(`connect-src 'self' ${new URL(stack.idp.issuer).origin};`);
      });
    } finally {
      shots.note('page errors', watch.errors);
      await context.close();
    }
  }, 180_000);

  it('a page on an origin not in CORS_ORIGINS cannot call the DICOMweb API, even with a valid token', async () => {
    const shots = new Screenshots('bearer unlisted origin');
    const { context, page, watch } = await newPage(browser);
    try {
      await shots.run([page], async () => {
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
    } finally {
      shots.note('page errors', watch.errors);
      await context.close();
    }
  }, 60_000);
});
