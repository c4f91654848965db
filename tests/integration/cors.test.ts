import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
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

const preflight = (origin: string, path = '/pacs/dicom-web/studies') =>
  fetch(`${stack.gateway.url}${path}`, {
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

describe('every spelling of a /pacs path gets the same CORS answer (CORS reads the target classify reads)', () => {
  const spellings = [['plain', '/pacs/dicom-web/studies'], ['/%70acs', '/%70acs/dicom-web/studies'], ['/pac%73', '/pac%73/dicom-web/studies']];

  it.each(spellings)('answers a preflight to the %s spelling itself, never forwarding it', async (_name, path) => {
    await stack.orthanc.clearSeenRequests();
    const response = await preflight(VIEWER_ORIGIN, path);
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(VIEWER_ORIGIN);
    expect(response.headers.get('access-control-allow-methods')).toMatch(/\bGET\b/);
    expect(response.headers.get('access-control-allow-credentials')).toBeNull();
    expect(await stack.orthanc.seenRequests()).toEqual([]);
  });

  it.each(spellings)('refuses a preflight to the %s spelling from an unlisted origin', async (_name, path) => {
    const response = await preflight('http://evil.example', path);
    expect(response.status).toBe(403);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });

  it.each(spellings)('lets a listed origin read the %s spelling with a Bearer token', async (_name, path) => {
    const token = await stack.issuer.token('viewer', ['pacs-viewer']);
    const response = await fetch(`${stack.gateway.url}${path}`, { headers: { origin: VIEWER_ORIGIN, authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe(VIEWER_ORIGIN);
    expect(response.headers.get('access-control-allow-credentials')).toBeNull();
    expect(response.headers.get('vary')).toMatch(/origin/i);
  });

  it.each(spellings)('leaves a plain OPTIONS to the %s spelling to the route (405, with the allowed methods)', async (_name, path) => {
    const response = await fetch(`${stack.gateway.url}${path}`, { method: 'OPTIONS', headers: { origin: VIEWER_ORIGIN } });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD, POST');
    expect(response.headers.get('access-control-allow-origin')).toBe(VIEWER_ORIGIN);
  });

  it('gives an unclean target no CORS headers: it is refused (400) before any stage trusts it', async () => {
    const response = await preflight(VIEWER_ORIGIN, '/pacs/dicom-web%2Fstudies');
    expect(response.status).toBe(400);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });
});
