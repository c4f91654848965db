import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import KcAdminClient from '@keycloak/keycloak-admin-client';
import { decodeJwt } from 'jose';
import { signInWithCodeFlow } from '../support/dev-idp-login.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { Browser, left } from '../support/http-browser.js';
import { startKeycloak, type KeycloakServer } from '../support/keycloak.js';
import { startOrthanc, type TestOrthanc } from '../support/orthanc.js';

/**
 * OIDC_TOKEN_VALIDATION=introspection against the real Keycloak, with lightweight access tokens
 * (claims left out of the JWT, given only to introspection).
 */
const SECRET = 'introspection-test-secret';
const CACHE_SECONDS = 6;

let keycloak: KeycloakServer;
let orthanc: TestOrthanc;
let admin: KcAdminClient;
let jwtGateway: TestGateway;
let introspecting: TestGateway;

async function accessToken(username: string): Promise<string> {
  const tokens = await signInWithCodeFlow({
    issuer: keycloak.issuer,
    clientId: 'orthanc-gateway',
    clientSecret: SECRET,
    redirectUri: 'http://localhost:8080/auth/callback',
    username,
    password: `${username}-dev-password`,
  });
  return tokens.access_token;
}

const studies = (gateway: TestGateway, token: string) =>
  fetch(`${gateway.url}/pacs/dicom-web/studies`, { headers: { authorization: `Bearer ${token}`, accept: 'application/dicom+json' } });

beforeAll(async () => {
  [keycloak, orthanc] = await Promise.all([startKeycloak({ env: { OIDC_CLIENT_SECRET: SECRET } }), startOrthanc()]);
  admin = new KcAdminClient({ baseUrl: keycloak.url, realmName: 'orthanc' });
  admin.registerTokenProvider({ getAccessToken: () => keycloak.adminToken() });
  const env = { OIDC_ISSUER: keycloak.issuer, OIDC_CLIENT_SECRET: SECRET, ORTHANC_URL: orthanc.url, ORTHANC_USERNAME: orthanc.username, ORTHANC_PASSWORD: orthanc.password };
  [jwtGateway, introspecting] = await Promise.all([
    startTestGateway(env),
    startTestGateway({ ...env, OIDC_TOKEN_VALIDATION: 'introspection', OIDC_INTROSPECTION_CACHE_SECONDS: String(CACHE_SECONDS) }),
  ]);
  // Lightweight access tokens for the gateway's client, and the introspecting gateway's callback for browser sign-in.
  const [client] = await admin.clients.find({ clientId: 'orthanc-gateway' });
  await admin.clients.update({ id: client!.id! }, {
    ...client,
    redirectUris: [...(client!.redirectUris ?? []), `${introspecting.url}/auth/callback`],
    attributes: { ...client!.attributes, 'client.use.lightweight.access.token.enabled': 'true' },
  });
}, 300_000);

afterAll(async () => {
  await Promise.all([jwtGateway?.close(1000), introspecting?.close(1000)]);
  await Promise.all([keycloak?.stop(), orthanc?.stop()]);
}, 60_000);

describe('token introspection with Keycloak lightweight access tokens', () => {
  it('a lightweight token carries neither roles nor audience; in jwt mode the gateway refuses it (401, aud)', async () => {
    const token = await accessToken('viewer');
    const claims = decodeJwt(token);
    expect(claims['realm_access']).toBeUndefined();
    expect(claims.aud).toBeUndefined();
    const response = await studies(jwtGateway, token);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain("'aud' claim");
  }, 60_000);

  it('in introspection mode the same token is accepted with its roles', async () => {
    const token = await accessToken('viewer');
    expect((await studies(introspecting, token)).status).toBe(200);
    const me = await fetch(`${introspecting.url}/auth/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(await me.json()).toMatchObject({ username: 'viewer', roles: expect.arrayContaining(['pacs-viewer']), via: 'bearer' });
    // Roles still decide: a viewer's token does not upload.
    const upload = await fetch(`${introspecting.url}/pacs/dicom-web/studies`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'multipart/related; type="application/dicom"; boundary=x' }, body: '--x--' });
    expect(upload.status).toBe(403);
  }, 60_000);

  it("signs a browser in: the session's lightweight access token is introspected for its roles", async () => {
    const browser = new Browser();
    const login = new URL('/auth/login?returnTo=/auth/me', introspecting.url);
    const callback = left(await browser.login(login, 'uploader', 'uploader-dev-password', [`${introspecting.url}/auth/callback`]));
    expect((await browser.request(callback.href)).status).toBe(302);
    const me = await browser.request(`${introspecting.url}/auth/me`);
    expect(await me.json()).toMatchObject({ username: 'uploader', roles: expect.arrayContaining(['pacs-uploader', 'pacs-viewer']), via: 'session' });
  }, 60_000);

  it('a token of a user without roles is accepted but refused access (403)', async () => {
    const token = await accessToken('norole');
    expect((await studies(introspecting, token)).status).toBe(403);
  }, 60_000);

  it('refuses garbage and unknown tokens (401: Keycloak says inactive)', async () => {
    const response = await studies(introspecting, 'not-a-token');
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('not active');
    const forged = (await accessToken('viewer')).slice(0, -4) + 'AAAA';
    expect((await studies(introspecting, forged)).status).toBe(401);
  }, 60_000);

  it('a token revoked at Keycloak (admin ends the sessions) is refused once its cache entry ends', async () => {
    const token = await accessToken('uploader');
    expect((await studies(introspecting, token)).status).toBe(200);
    const cachedAt = Date.now();
    const [user] = await admin.users.find({ username: 'uploader', exact: true });
    await admin.users.logout({ id: user!.id! });
    // The bound: until the cache entry ends the revoked token still works (documented), then never.
    if (Date.now() - cachedAt < (CACHE_SECONDS - 2) * 1000) expect((await studies(introspecting, token)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, cachedAt + CACHE_SECONDS * 1000 + 500 - Date.now())));
    const after = await studies(introspecting, token);
    expect(after.status).toBe(401);
    expect(after.headers.get('www-authenticate')).toContain('not active');
  }, 60_000);

  it('answers 503, not 401, when Keycloak is down', async () => {
    const token = await accessToken('admin');
    await keycloak.stop();
    const response = await studies(introspecting, token);
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ error: 'service_unavailable' });
  }, 60_000);
});
