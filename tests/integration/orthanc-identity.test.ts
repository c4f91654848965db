import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { makeSeries } from '../support/dicom.js';
import { ACCEPT_DICOM_JSON, stowBody } from '../support/dicomweb.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { orthancBasicAuth, orthancFetch, startOrthanc, uploadInstances, type SeenRequest, type TestOrthanc } from '../support/orthanc.js';
import { rawRequest } from '../support/raw-http.js';
import { startTestIssuer, type TestIssuer } from '../support/test-issuer.js';

/**
 * Orthanc's own rules still apply behind the gateway (issue 10, items 3 and 4; seed 000):
 *  (a) ORTHANC_CREDENTIALS_BY_ROLE: each request reaches Orthanc as the Orthanc user of the
 *      caller's first mapped role, and an Orthanc Lua filter enforcing per-user rules sees it;
 *  (b) FORWARD_IDENTITY_HEADERS: an Orthanc Lua filter reads the gateway-computed
 *      X-Forwarded-User / X-Forwarded-Roles; client copies never get through.
 * Orthanc runs the Lua filter only after Basic authentication succeeded; a Lua `false` is an
 * Orthanc 403, which the gateway answers as a 403 JSON.
 */

const PASSWORDS = { svc: 'svc-pw-1f0c9a', viewer: 'viewer-pw-77e2', admin: 'admin-pw-3b9d', gateway: 'gw-pw-c41a' };

/** Orthanc-side rules per Orthanc user: the read-only user may only GET. */
const PER_USER_LUA = `
  if username == 'viewer-orthanc' then return method == 'GET' end
  return true
`;

/**
 * Orthanc-side rules on the identity headers, for requests from the two identity-forwarding
 * gateway users (other users: test setup and the gateway without identity headers pass):
 * only alice and carol may use Orthanc, and only with the pacs-admin role for anything but GET.
 */
const IDENTITY_LUA = `
  local names = ({
    ['gw-identity'] = { 'x-forwarded-user', 'x-forwarded-roles' },
    ['gw-custom'] = { 'x-auth-user', 'x-auth-roles' },
  })[username]
  if names == nil then return true end
  local user = httpHeaders[names[1]]
  local roles = ',' .. (httpHeaders[names[2]] or '') .. ','
  if user ~= 'alice' and user ~= 'carol' then return false end
  if method ~= 'GET' then return string.find(roles, ',pacs-admin,', 1, true) ~= nil end
  return true
`;

let issuer: TestIssuer;
let perRoleOrthanc: TestOrthanc;
let identityOrthanc: TestOrthanc;
let perRoleGateway: TestGateway;
let identityGateway: TestGateway;
let customNamesGateway: TestGateway;
let plainGateway: TestGateway;

const basicOf = (username: string, password: string) => orthancBasicAuth({ username, password });

function send(gateway: TestGateway, path: string, token: string, init: RequestInit = {}) {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${token}`);
  return fetch(`${gateway.url}${path}`, { ...init, headers, redirect: 'manual' });
}

async function stow(gateway: TestGateway, token: string, patientId: string) {
  const series = makeSeries({ modality: 'CT', patientName: 'Stow^Test', patientId, instances: 1, rows: 16, columns: 16 });
  const { body, contentType } = stowBody(series.files);
  const response = await send(gateway, '/pacs/dicom-web/studies', token, {
    method: 'POST',
    headers: { 'content-type': contentType, accept: ACCEPT_DICOM_JSON },
    body,
  });
  return { response, studyInstanceUid: series.studyInstanceUid };
}

async function studyExists(orthanc: TestOrthanc, studyInstanceUid: string): Promise<boolean> {
  const response = await orthancFetch(orthanc, `/dicom-web/studies?StudyInstanceUID=${studyInstanceUid}`);
  return ((await response.json()) as unknown[]).length > 0;
}

/** A fresh study stored directly in Orthanc; returns its Orthanc id. */
async function seedStudy(orthanc: TestOrthanc, patientId: string): Promise<string> {
  const series = makeSeries({ modality: 'MR', patientName: 'Seed^Study', patientId, instances: 1, rows: 16, columns: 16 });
  const [result] = await uploadInstances(orthanc, series.files);
  return result!.ParentStudy;
}

/** The single request Orthanc saw since the last clearSeenRequests(). */
async function onlySeen(orthanc: TestOrthanc): Promise<SeenRequest> {
  const seen = await orthanc.seenHeaders();
  expect(seen).toHaveLength(1);
  return seen[0]!;
}

beforeAll(async () => {
  [issuer, perRoleOrthanc, identityOrthanc] = await Promise.all([
    startTestIssuer(),
    startOrthanc({
      users: { 'svc-gateway': PASSWORDS.svc, 'viewer-orthanc': PASSWORDS.viewer, 'admin-orthanc': PASSWORDS.admin },
      luaFilter: PER_USER_LUA,
    }),
    startOrthanc({
      users: { 'svc-setup': PASSWORDS.svc, 'gw-identity': PASSWORDS.gateway, 'gw-custom': PASSWORDS.gateway, 'gw-plain': PASSWORDS.gateway },
      luaFilter: IDENTITY_LUA,
    }),
  ]);
  const common = { OIDC_ISSUER: issuer.issuer };
  [perRoleGateway, identityGateway, customNamesGateway, plainGateway] = await Promise.all([
    startTestGateway({
      ...common,
      ORTHANC_URL: perRoleOrthanc.url,
      ORTHANC_USERNAME: 'svc-gateway',
      ORTHANC_PASSWORD: PASSWORDS.svc,
      // JSON order matters: the first role the caller holds wins.
      ORTHANC_CREDENTIALS_BY_ROLE: JSON.stringify({
        'pacs-broken': 'ghost-user:not-registered',
        'pacs-auditor': `viewer-orthanc:${PASSWORDS.viewer}`,
        'pacs-admin': `admin-orthanc:${PASSWORDS.admin}`,
        'pacs-viewer': `viewer-orthanc:${PASSWORDS.viewer}`,
      }),
    }),
    startTestGateway({
      ...common,
      ORTHANC_URL: identityOrthanc.url,
      ORTHANC_USERNAME: 'gw-identity',
      ORTHANC_PASSWORD: PASSWORDS.gateway,
      FORWARD_IDENTITY_HEADERS: 'true',
    }),
    startTestGateway({
      ...common,
      ORTHANC_URL: identityOrthanc.url,
      ORTHANC_USERNAME: 'gw-custom',
      ORTHANC_PASSWORD: PASSWORDS.gateway,
      FORWARD_IDENTITY_HEADERS: 'true',
      IDENTITY_HEADER_USER: 'X-Auth-User',
      IDENTITY_HEADER_ROLES: 'X-Auth-Roles',
    }),
    startTestGateway({
      ...common,
      ORTHANC_URL: identityOrthanc.url,
      ORTHANC_USERNAME: 'gw-plain',
      ORTHANC_PASSWORD: PASSWORDS.gateway,
      FORWARD_IDENTITY_HEADERS: 'false',
    }),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([perRoleGateway?.close(), identityGateway?.close(), customNamesGateway?.close(), plainGateway?.close()]);
  await Promise.all([perRoleOrthanc?.stop(), identityOrthanc?.stop(), issuer?.stop()]);
});

describe('ORTHANC_CREDENTIALS_BY_ROLE: per-role Orthanc users', () => {
  it('a viewer reaches Orthanc as the read-only Orthanc user', async () => {
    const token = await issuer.token('vera', ['pacs-viewer']);
    await perRoleOrthanc.clearSeenRequests();
    const response = await send(perRoleGateway, '/pacs/dicom-web/studies', token);
    expect(response.status).toBe(200);
    const seen = await onlySeen(perRoleOrthanc);
    expect(seen).toMatchObject({ request: 'GET /dicom-web/studies', username: 'viewer-orthanc', allowed: true });
    expect(seen.headers['authorization']).toBe(basicOf('viewer-orthanc', PASSWORDS.viewer));
  });

  it('a caller without a mapped role uses the service user (and may store)', async () => {
    const token = await issuer.token('uma', ['pacs-uploader']);
    await perRoleOrthanc.clearSeenRequests();
    const { response, studyInstanceUid } = await stow(perRoleGateway, token, 'P-SVC');
    expect(response.status).toBe(200);
    expect(await onlySeen(perRoleOrthanc)).toMatchObject({ request: 'POST /dicom-web/studies', username: 'svc-gateway', allowed: true });
    expect(await studyExists(perRoleOrthanc, studyInstanceUid)).toBe(true);
  });

  it('Orthanc refuses a store the gateway allows, when the caller maps to the read-only user', async () => {
    // pacs-uploader lets the gateway policy allow STOW, but pacs-viewer maps to viewer-orthanc.
    const token = await issuer.token('ulrich', ['pacs-uploader', 'pacs-viewer']);
    await perRoleOrthanc.clearSeenRequests();
    const { response, studyInstanceUid } = await stow(perRoleGateway, token, 'P-REFUSED');
    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toBeNull();
    expect(await response.json()).toMatchObject({ error: 'forbidden', requestId: expect.any(String) });
    expect(await onlySeen(perRoleOrthanc)).toMatchObject({ request: 'POST /dicom-web/studies', username: 'viewer-orthanc', allowed: false });
    expect(await studyExists(perRoleOrthanc, studyInstanceUid)).toBe(false);
  });

  it('an admin reaches Orthanc as the admin Orthanc user and may delete', async () => {
    const studyId = await seedStudy(perRoleOrthanc, 'P-DEL-OK');
    const token = await issuer.token('ada', ['pacs-admin']);
    await perRoleOrthanc.clearSeenRequests();
    const response = await send(perRoleGateway, `/pacs-admin/studies/${studyId}`, token, { method: 'DELETE' });
    expect(response.status).toBe(200);
    const seen = await onlySeen(perRoleOrthanc);
    expect(seen).toMatchObject({ request: `DELETE /studies/${studyId}`, username: 'admin-orthanc', allowed: true });
    expect(seen.headers['authorization']).toBe(basicOf('admin-orthanc', PASSWORDS.admin));
    expect((await orthancFetch(perRoleOrthanc, `/studies/${studyId}`)).status).toBe(404);
  });

  it('the first configured role wins: an admin who is also an auditor is read-only in Orthanc', async () => {
    const studyId = await seedStudy(perRoleOrthanc, 'P-DEL-NO');
    // Token order admin first; ORTHANC_CREDENTIALS_BY_ROLE lists pacs-auditor before pacs-admin.
    const token = await issuer.token('otto', ['pacs-admin', 'pacs-auditor']);
    await perRoleOrthanc.clearSeenRequests();
    const read = await send(perRoleGateway, '/pacs-admin/system', token);
    expect(read.status).toBe(200);
    const remove = await send(perRoleGateway, `/pacs-admin/studies/${studyId}`, token, { method: 'DELETE' });
    expect(remove.status).toBe(403);
    expect(await remove.json()).toMatchObject({ error: 'forbidden' });
    const seen = await perRoleOrthanc.seenHeaders();
    expect(seen.map(({ request, username, allowed }) => ({ request, username, allowed }))).toEqual([
      { request: 'GET /system', username: 'viewer-orthanc', allowed: true },
      { request: `DELETE /studies/${studyId}`, username: 'viewer-orthanc', allowed: false },
    ]);
    expect((await orthancFetch(perRoleOrthanc, `/studies/${studyId}`)).status).toBe(200);
  });

  it('a per-role credential Orthanc rejects is a 502 naming the role (not the Orthanc user), never a Basic prompt', async () => {
    const token = await issuer.token('bruno', ['pacs-broken', 'pacs-viewer']);
    const response = await send(perRoleGateway, '/pacs/dicom-web/studies', token);
    expect(response.status).toBe(502);
    expect(response.headers.get('www-authenticate')).toBeNull();
    const body = (await response.json()) as { error: string; message: string };
    expect(body).toMatchObject({ error: 'bad_gateway', message: expect.stringContaining('pacs-broken') });
    expect(body.message).not.toMatch(/ghost-user|not-registered/);
  });
});

describe('FORWARD_IDENTITY_HEADERS: identity headers for Orthanc Lua filters', () => {
  it('Orthanc sees the gateway-computed user and roles, and its Lua filter lets alice in', async () => {
    const token = await issuer.token('alice', ['pacs-viewer']);
    await identityOrthanc.clearSeenRequests();
    const response = await send(identityGateway, '/pacs/dicom-web/studies', token);
    expect(response.status).toBe(200);
    const seen = await onlySeen(identityOrthanc);
    expect(seen).toMatchObject({ username: 'gw-identity', allowed: true });
    expect(seen.headers['x-forwarded-user']).toBe('alice');
    expect(seen.headers['x-forwarded-roles']).toBe('pacs-viewer,default-roles-orthanc');
  });

  it("Orthanc's Lua filter refuses another user: 403 JSON", async () => {
    const token = await issuer.token('bob', ['pacs-viewer']);
    await identityOrthanc.clearSeenRequests();
    const response = await send(identityGateway, '/pacs/dicom-web/studies', token);
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ error: 'forbidden', requestId: expect.any(String) });
    const seen = await onlySeen(identityOrthanc);
    expect(seen).toMatchObject({ allowed: false });
    expect(seen.headers['x-forwarded-user']).toBe('bob');
  });

  it.each([
    ['once', { 'X-Forwarded-User': 'alice', 'X-Forwarded-Roles': 'pacs-admin' }],
    ['lower case', { 'x-forwarded-user': 'alice', 'x-forwarded-roles': 'pacs-admin' }],
    ['upper case', { 'X-FORWARDED-USER': 'alice', 'X-FORWARDED-ROLES': 'pacs-admin' }],
    ['twice', { 'x-forwarded-user': ['alice', 'alice'], 'x-forwarded-roles': ['pacs-admin', 'pacs-viewer'] }],
  ])('a client sending its own identity headers (%s) cannot influence them', async (_how, forged) => {
    const token = await issuer.token('bob', ['pacs-viewer']);
    await identityOrthanc.clearSeenRequests();
    const response = await rawRequest(identityGateway.url, '/pacs/dicom-web/studies', {
      headers: { authorization: `Bearer ${token}`, ...forged },
    });
    expect(response.status).toBe(403);
    const seen = await onlySeen(identityOrthanc);
    expect(seen.headers['x-forwarded-user']).toBe('bob');
    expect(seen.headers['x-forwarded-roles']).toBe('pacs-viewer,default-roles-orthanc');
  });

  it('the roles header drives Orthanc-side write rules, and a comma in a role cannot forge one', async () => {
    await identityOrthanc.clearSeenRequests();
    const uploader = await issuer.token('alice', ['pacs-uploader']);
    expect((await stow(identityGateway, uploader, 'P-ID-1')).response.status).toBe(403);
    const forgedRole = await issuer.token('alice', ['pacs-uploader', 'x,pacs-admin']);
    expect((await stow(identityGateway, forgedRole, 'P-ID-2')).response.status).toBe(403);
    const admin = await issuer.token('alice', ['pacs-admin']);
    const stored = await stow(identityGateway, admin, 'P-ID-3');
    expect(stored.response.status).toBe(200);

    const seen = await identityOrthanc.seenHeaders();
    expect(seen.map((entry) => [entry.headers['x-forwarded-roles'], entry.allowed])).toEqual([
      ['pacs-uploader,default-roles-orthanc', false],
      ['pacs-uploader,x%2Cpacs-admin,default-roles-orthanc', false],
      ['pacs-admin,default-roles-orthanc', true],
    ]);
  });

  it.each([
    ['CR LF', 'alice\r\nX-Injected: yes', 'alice%0D%0AX-Injected:%20yes'],
    ['NUL', 'alice\u0000', 'alice%00'],
    ['a trailing space', 'alice ', 'alice%20'],
    ['non-ASCII look-alike', 'аlice', '%D0%B0lice'],
  ])('a username with %s is sent encoded, never split or merged into "alice"', async (_what, username, expected) => {
    const token = await issuer.token('mallory', ['pacs-viewer'], { preferred_username: username });
    await identityOrthanc.clearSeenRequests();
    const response = await send(identityGateway, '/pacs/dicom-web/studies', token);
    expect(response.status).toBe(403);
    const seen = await onlySeen(identityOrthanc);
    expect(seen.headers['x-forwarded-user']).toBe(expected);
    expect(seen.headers['x-injected']).toBeUndefined();
  });

  it('uses the configured header names (IDENTITY_HEADER_USER / IDENTITY_HEADER_ROLES)', async () => {
    const alice = await issuer.token('alice', ['pacs-viewer']);
    const bob = await issuer.token('bob', ['pacs-viewer']);
    await identityOrthanc.clearSeenRequests();
    expect((await send(customNamesGateway, '/pacs/dicom-web/studies', alice)).status).toBe(200);
    const forged = await rawRequest(customNamesGateway.url, '/pacs/dicom-web/studies', {
      headers: { authorization: `Bearer ${bob}`, 'x-auth-user': ['alice', 'carol'], 'X-Auth-Roles': 'pacs-admin' },
    });
    expect(forged.status).toBe(403);
    const seen = await identityOrthanc.seenHeaders();
    expect(seen.map((entry) => [entry.headers['x-auth-user'], entry.headers['x-auth-roles'], entry.allowed])).toEqual([
      ['alice', 'pacs-viewer,default-roles-orthanc', true],
      ['bob', 'pacs-viewer,default-roles-orthanc', false],
    ]);
    for (const entry of seen) expect(entry.headers['x-forwarded-user']).toBeUndefined();
  });

  it('with FORWARD_IDENTITY_HEADERS=false no identity header reaches Orthanc, not even the client’s', async () => {
    const token = await issuer.token('alice', ['pacs-viewer']);
    await identityOrthanc.clearSeenRequests();
    const response = await rawRequest(plainGateway.url, '/pacs/dicom-web/studies', {
      headers: { authorization: `Bearer ${token}`, 'X-Forwarded-User': 'admin', 'x-forwarded-roles': ['pacs-admin', 'pacs-admin'] },
    });
    expect(response.status).toBe(200);
    const seen = await onlySeen(identityOrthanc);
    expect(seen.username).toBe('gw-plain');
    for (const name of Object.keys(seen.headers)) expect(name).not.toMatch(/^x-(forwarded|auth)-/);
  });
});
