import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { UnsecuredJWT, type JWTPayload } from 'jose';
import { createIssuerMetadataSource } from '../../src/auth/issuer.js';
import { createIssuerKeys } from '../../src/auth/issuer-keys.js';
import { createLogoutTokenValidator } from '../../src/auth/logout-token.js';
import { memorySharedState } from '../../src/auth/shared-state.js';
import { startTestIssuer, type TestIssuer, type TokenOptions } from '../support/test-issuer.js';

/** Back-channel logout tokens, verified against a real issuer's JWKS over HTTP. */
let issuer: TestIssuer;
let validate: ReturnType<typeof createLogoutTokenValidator>;
const now = () => Math.floor(Date.now() / 1000);
const EVENT = { 'http://schemas.openid.net/event/backchannel-logout': {} };

function logoutClaims(overrides: JWTPayload = {}): JWTPayload {
  return { iss: issuer.issuer, aud: 'orthanc-gateway', iat: now(), jti: randomUUID(), events: EVENT, sid: 'sid-1', sub: 'sub-1', ...overrides };
}

/** Signed as the IdP signs logout tokens: header typ `logout+jwt` (Keycloak 25+, oidc-provider). */
const signLogout = (claims: JWTPayload, options: TokenOptions = {}) => issuer.sign(claims, { ...options, header: { typ: 'logout+jwt', ...options.header } });

function without(claims: JWTPayload, ...names: string[]): JWTPayload {
  const copy = { ...claims };
  for (const name of names) delete copy[name];
  return copy;
}

beforeAll(async () => {
  issuer = await startTestIssuer();
  const metadata = createIssuerMetadataSource({ issuer: issuer.issuer, discoveryUrl: issuer.issuer });
  validate = createLogoutTokenValidator({
    issuer: issuer.issuer,
    clientId: 'orthanc-gateway',
    keys: createIssuerKeys(metadata),
    state: memorySharedState(),
  });
});

afterAll(async () => {
  await issuer?.stop();
});

it('accepts a valid logout token once and names its sid and sub', async () => {
  const token = await signLogout(logoutClaims());
  await expect(validate(token)).resolves.toEqual({ sid: 'sid-1', sub: 'sub-1' });
  await expect(validate(token)).rejects.toThrow(/replayed/);
});

it('accepts the media type spelled in full (application/logout+jwt)', async () => {
  await expect(validate(await signLogout(logoutClaims(), { header: { typ: 'application/logout+jwt' } }))).resolves.toEqual({ sid: 'sid-1', sub: 'sub-1' });
});

it('accepts a token naming only the sub', async () => {
  await expect(validate(await signLogout(without(logoutClaims(), 'sid')))).resolves.toEqual({ sid: undefined, sub: 'sub-1' });
});

it.each<[string, () => Promise<string>]>([
  ['without the logout event', () => signLogout(without(logoutClaims(), 'events'))],
  ['with another event', () => signLogout(logoutClaims({ events: { 'urn:other': {} } }))],
  ['with a nonce', () => signLogout(logoutClaims({ nonce: 'n' }))],
  ['for another audience', () => signLogout(logoutClaims({ aud: 'ohif-viewer' }))],
  ['from another issuer', () => signLogout(logoutClaims({ iss: 'http://evil.example/realms/orthanc' }))],
  ['older than five minutes', () => signLogout(logoutClaims({ iat: now() - 600 }))],
  ['without jti', () => signLogout(without(logoutClaims(), 'jti'))],
  ['naming neither sid nor sub', () => signLogout(without(logoutClaims(), 'sid', 'sub'))],
  ['unsigned (alg none)', async () => new UnsecuredJWT(logoutClaims()).encode()],
  ['signed by an unknown key', async () => signLogout(logoutClaims(), { key: await issuer.newKey() })],
])('refuses a logout token %s', async (_name, makeToken) => {
  await expect(validate(await makeToken())).rejects.toThrow();
});

// Every other kind of JWT of the same issuer and audience, carrying every logout claim: only the header typ tells them apart.
it.each<[string, () => Promise<string>]>([
  ['typed JWT (as Keycloak types access and ID tokens)', () => issuer.sign(logoutClaims())],
  ['without typ (Keycloak 24 and older)', () => issuer.sign(logoutClaims(), { header: { typ: undefined } })],
  ['typed at+jwt (RFC 9068 access token)', () => issuer.sign(logoutClaims(), { header: { typ: 'at+jwt' } })],
  ['that is an access token', () => issuer.sign(issuer.accessClaims('viewer', ['pacs-viewer'], { events: EVENT }))],
  ['that is an ID token', () => issuer.sign({ ...logoutClaims(), typ: 'ID', nonce: undefined, auth_time: now(), exp: now() + 300 })],
  ['that is a refresh token', () => issuer.sign({ ...logoutClaims(), typ: 'Refresh', exp: now() + 1800 })],
])('refuses a token %s, for its typ', async (_name, makeToken) => {
  await expect(validate(await makeToken())).rejects.toThrow(/"typ"/);
});
