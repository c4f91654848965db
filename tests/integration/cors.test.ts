import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startOrthanc, type TestOrthanc } from '../support/orthanc.js';
import { startTestIssuer, type TestIssuer } from '../support/test-issuer.js';

/** CORS for SPA viewers on another origin that send Bearer tokens (CORS_ORIGINS). */
const VIEWER_ORIGIN = 'http://viewer.example:3000';
let orthanc: TestOrthanc;
let issuer: TestIssuer;
let gateway: TestGateway;

beforeAll(async () => {
  [orthanc, issuer] = await Promise.all([startOrthanc(), startTestIssuer()]);
  gateway = await startTestGateway({
    OIDC_ISSUER: issuer.issuer,
    ORTHANC_URL: orthanc.url,
    ORTHANC_USERNAME: orthanc.username,
    ORTHANC_PASSWORD: orthanc.password,
    CORS_ORIGINS: `${VIEWER_ORIGIN}, http://other.example`,
  });
}, 60_000);

afterAll(async () => {
  await gateway?.close();
  await Promise.all([orthanc?.stop(), issuer?.stop()]);
});

const preflight = (origin: string) =>
  fetch(`${gateway.url}/pacs/dicom-web/studies`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
  });

it('answers a preflight from a listed origin without credentials and without forwarding it', async () => {
  await orthanc.clearSeenRequests();
  const response = await preflight(VIEWER_ORIGIN);
  expect(response.status).toBe(204);
  expect(response.headers.get('access-control-allow-origin')).toBe(VIEWER_ORIGIN);
  expect(response.headers.get('access-control-allow-headers')).toMatch(/authorization/i);
  expect(response.headers.get('access-control-allow-credentials')).toBeNull();
  expect(response.headers.get('vary')).toMatch(/origin/i);
  expect(await orthanc.seenRequests()).toEqual([]);
});

it('refuses a preflight from an unlisted origin with no allow headers', async () => {
  const response = await preflight('http://evil.example');
  expect(response.status).toBe(403);
  expect(response.headers.get('access-control-allow-origin')).toBeNull();
});

it('lets a listed origin read DICOMweb with a Bearer token', async () => {
  const token = await issuer.token('viewer', ['pacs-viewer']);
  const response = await fetch(`${gateway.url}/pacs/dicom-web/studies`, { headers: { origin: VIEWER_ORIGIN, authorization: `Bearer ${token}` } });
  expect(response.status).toBe(200);
  expect(response.headers.get('access-control-allow-origin')).toBe(VIEWER_ORIGIN);
  expect(response.headers.get('access-control-expose-headers')).toMatch(/www-authenticate/i);
});

it('never opens /pacs-admin to other origins', async () => {
  const response = await fetch(`${gateway.url}/pacs-admin/system`, {
    method: 'OPTIONS',
    headers: { origin: VIEWER_ORIGIN, 'access-control-request-method': 'GET' },
  });
  expect(response.headers.get('access-control-allow-origin')).toBeNull();
});
