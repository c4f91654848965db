import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { startBearerStack, type BearerStack } from '../support/bearer-stack.js';

/** CORS for SPA viewers on another origin that send Bearer tokens (CORS_ORIGINS). */
const VIEWER_ORIGIN = 'http://viewer.example:3000';
let stack: BearerStack;

beforeAll(async () => {
  stack = await startBearerStack({ CORS_ORIGINS: `${VIEWER_ORIGIN}, http://other.example` });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

const preflight = (origin: string) =>
  fetch(`${stack.gateway.url}/pacs/dicom-web/studies`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
  });

it('answers a preflight from a listed origin without credentials and without forwarding it', async () => {
  await stack.orthanc.clearSeenRequests();
  const response = await preflight(VIEWER_ORIGIN);
  expect(response.status).toBe(204);
  expect(response.headers.get('access-control-allow-origin')).toBe(VIEWER_ORIGIN);
  expect(response.headers.get('access-control-allow-headers')).toMatch(/authorization/i);
  expect(response.headers.get('access-control-allow-credentials')).toBeNull();
  expect(response.headers.get('vary')).toMatch(/origin/i);
  expect(await stack.orthanc.seenRequests()).toEqual([]);
});

it('refuses a preflight from an unlisted origin with no allow headers', async () => {
  const response = await preflight('http://evil.example');
  expect(response.status).toBe(403);
  expect(response.headers.get('access-control-allow-origin')).toBeNull();
});

it('lets a listed origin read DICOMweb with a Bearer token', async () => {
  const token = await stack.issuer.token('viewer', ['pacs-viewer']);
  const response = await fetch(`${stack.gateway.url}/pacs/dicom-web/studies`, { headers: { origin: VIEWER_ORIGIN, authorization: `Bearer ${token}` } });
  expect(response.status).toBe(200);
  expect(response.headers.get('access-control-allow-origin')).toBe(VIEWER_ORIGIN);
  expect(response.headers.get('access-control-expose-headers')).toMatch(/www-authenticate/i);
});

it('never opens /pacs-admin to other origins', async () => {
  const response = await fetch(`${stack.gateway.url}/pacs-admin/system`, {
    method: 'OPTIONS',
    headers: { origin: VIEWER_ORIGIN, 'access-control-request-method': 'GET' },
  });
  expect(response.headers.get('access-control-allow-origin')).toBeNull();
});
