import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { UnsecuredJWT, type JWTPayload } from 'jose';
import { createIssuerMetadataSource } from '../../src/auth/issuer.js';
import { createIssuerKeys } from '../../src/auth/issuer-keys.js';
import { createLogoutTokenValidator } from '../../src/auth/logout-token.js';
import { memorySharedState } from '../../src/auth/shared-state.js';
import { startTestIssuer, type TestIssuer } from '../support/test-issuer.js';

/** Back-channel logout tokens, verified against a real issuer's JWKS over HTTP. */
let issuer: TestIssuer;
let validate: ReturnType<typeof createLogoutTokenValidator>;
const now = () => Math.floor(Date.now() / 1000);
const EVENT = { 'http://schemas.openid.net/event/backchannel-logout': {} };

function logoutClaims(overrides: JWTPayload = {}): JWTPayload {
  return { iss: issuer.issuer, aud: 'orthanc-gateway', iat: now(), jti: randomUUID(), events: EVENT, sid: 'sid-1', sub: 'sub-1', ...overrides };
}

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
  const token = await issuer.sign(logoutClaims());
  await expect(validate(token)).resolves.toEqual({ sid: 'sid-1', sub: 'sub-1' });
  await expect(validate(token)).rejects.toThrow(/replayed/);
});

it('accepts a token naming only the sub', async () => {
  await expect(validate(await issuer.sign(without(logoutClaims(), 'sid')))).resolves.toEqual({ sid: undefined, sub: 'sub-1' });
});

it.each<[string, () => Promise<string>]>([
  ['without the logout event', () => issuer.sign(without(logoutClaims(), 'events'))],
  ['with another event', () => issuer.sign(logoutClaims({ events: { 'urn:other': {} } }))],
  ['with a nonce', () => issuer.sign(logoutClaims({ nonce: 'n' }))],
  ['for another audience', () => issuer.sign(logoutClaims({ aud: 'ohif-viewer' }))],
  ['from another issuer', () => issuer.sign(logoutClaims({ iss: 'http://evil.example/realms/orthanc' }))],
  ['older than five minutes', () => issuer.sign(logoutClaims({ iat: now() - 600 }))],
  ['without jti', () => issuer.sign(without(logoutClaims(), 'jti'))],
  ['naming neither sid nor sub', () => issuer.sign(without(logoutClaims(), 'sid', 'sub'))],
  ['unsigned (alg none)', async () => new UnsecuredJWT(logoutClaims()).encode()],
  ['signed by an unknown key', async () => issuer.sign(logoutClaims(), { key: await issuer.newKey() })],
])('refuses a logout token %s', async (_name, makeToken) => {
  await expect(validate(await makeToken())).rejects.toThrow();
});
