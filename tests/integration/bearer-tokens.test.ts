import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { exportSPKI, SignJWT, UnsecuredJWT, type JWTPayload } from 'jose';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startOrthanc, type TestOrthanc } from '../support/orthanc.js';
import { rawRequest } from '../support/raw-http.js';
import { startTestIssuer, type SigningKey, type TestIssuer } from '../support/test-issuer.js';

/** Every kind of bad Bearer token is refused with 401 and never reaches Orthanc. */
let orthanc: TestOrthanc;
let issuer: TestIssuer;
let gateway: TestGateway;
let strangerKey: SigningKey;

const QIDO = '/pacs/dicom-web/studies';
const now = () => Math.floor(Date.now() / 1000);
const viewerClaims = (overrides: JWTPayload = {}) => issuer.accessClaims('viewer', ['pacs-viewer'], overrides);

function withoutClaim(name: string): JWTPayload {
  const claims = viewerClaims();
  delete claims[name];
  return claims;
}

async function query(token: string) {
  return fetch(`${gateway.url}${QIDO}`, { headers: { authorization: `Bearer ${token}` } });
}

beforeAll(async () => {
  [orthanc, issuer] = await Promise.all([startOrthanc(), startTestIssuer()]);
  strangerKey = await issuer.newKey();
  gateway = await startTestGateway({
    OIDC_ISSUER: issuer.issuer,
    ORTHANC_URL: orthanc.url,
    ORTHANC_USERNAME: orthanc.username,
    ORTHANC_PASSWORD: orthanc.password,
    RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '1000', // this suite fails authentication on purpose, many times
  });
}, 60_000);

afterAll(async () => {
  await gateway?.close();
  await Promise.all([orthanc?.stop(), issuer?.stop()]);
});

it('accepts a valid Keycloak-shaped access token', async () => {
  expect((await query(await issuer.sign(viewerClaims()))).status).toBe(200);
});

const badTokens: Array<[string, () => Promise<string>]> = [
  ['expired', () => issuer.sign(viewerClaims({ iat: now() - 600, exp: now() - 120 }))],
  ['not yet valid (nbf)', () => issuer.sign(viewerClaims({ nbf: now() + 600 }))],
  ['issued in the future (iat)', () => issuer.sign(viewerClaims({ iat: now() + 600 }))],
  ['wrong audience', () => issuer.sign(viewerClaims({ aud: ['account'] }))],
  ['wrong issuer', () => issuer.sign(viewerClaims({ iss: 'http://evil.example/realms/orthanc' }))],
  ['alg none', async () => new UnsecuredJWT(viewerClaims()).encode()],
  [
    'HS256 signed with the public key as secret',
    async () => {
      const [key] = issuer.keys;
      const secret = new TextEncoder().encode(await exportSPKI(key!.publicKey));
      return new SignJWT(viewerClaims()).setProtectedHeader({ alg: 'HS256', kid: key!.kid }).sign(secret);
    },
  ],
  [
    'HS256 signed with the JWK modulus as secret',
    async () => {
      const [key] = issuer.keys;
      const secret = new TextEncoder().encode(String(key!.publicJwk.n));
      return new SignJWT(viewerClaims()).setProtectedHeader({ alg: 'HS256', kid: key!.kid }).sign(secret);
    },
  ],
  ['signed by an unknown key (unknown kid)', () => issuer.sign(viewerClaims(), { key: strangerKey })],
  ['signed by an unknown key that claims a known kid', () => issuer.sign(viewerClaims(), { key: strangerKey, header: { kid: issuer.keys[0]!.kid } })],
  ['an ID token (typ ID)', () => issuer.sign(viewerClaims({ typ: 'ID', aud: 'orthanc-gateway', azp: 'orthanc-gateway' }))],
  ['a refresh token (typ Refresh)', () => issuer.sign(viewerClaims({ typ: 'Refresh' }))],
  ['without typ', () => issuer.sign(withoutClaim('typ'))],
  ['without exp', () => issuer.sign(withoutClaim('exp'))],
  ['without sub', () => issuer.sign(withoutClaim('sub'))],
  [
    'with a tampered payload',
    async () => {
      const [header, , signature] = (await issuer.sign(viewerClaims())).split('.');
      const forged = Buffer.from(JSON.stringify(viewerClaims({ realm_access: { roles: ['pacs-admin'] } }))).toString('base64url');
      return `${header}.${forged}.${signature}`;
    },
  ],
  ['malformed', async () => 'not.a.jwt'],
  ['two segments', async () => 'abc.def'],
  ['oversized', async () => 'a'.repeat(9000)],
];

describe('bad Bearer tokens', () => {
  it.each(badTokens)('refuses %s with 401 invalid_token', async (_name, makeToken) => {
    await orthanc.clearSeenRequests();
    const response = await query(await makeToken());
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm="orthanc-oidc-gateway", error="invalid_token"/);
    expect(await response.json()).toMatchObject({ error: 'invalid_token', message: expect.any(String), requestId: expect.any(String) });
    expect(await orthanc.seenRequests()).toEqual([]);
  });
});

describe('how the token is presented', () => {
  it('ignores a token in the query string and refuses the request', async () => {
    const token = await issuer.sign(viewerClaims());
    const response = await fetch(`${gateway.url}${QIDO}?access_token=${token}`);
    expect(response.status).toBe(400);
  });

  it('refuses two Authorization headers', async () => {
    const token = await issuer.sign(viewerClaims());
    const response = await rawRequest(gateway.url, QIDO, { headers: { authorization: [`Bearer ${token}`, `Bearer ${token}`] } });
    expect(response.status).toBe(400);
  });

  it('refuses a Bearer header without a well-formed token', async () => {
    const response = await rawRequest(gateway.url, QIDO, { headers: { authorization: 'Bearer a b c' } });
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toContain('error="invalid_request"');
  });

  it('accepts a token without kid when the key set has a single matching key', async () => {
    expect((await query(await issuer.sign(viewerClaims(), { noKid: true }))).status).toBe(200);
  });

  it('bounds JWKS downloads when flooded with unknown kids', async () => {
    const before = issuer.jwksRequests();
    for (let i = 0; i < 20; i++) {
      const response = await query(await issuer.sign(viewerClaims(), { key: strangerKey, header: { kid: `random-${i}` } }));
      expect(response.status).toBe(401);
    }
    expect(issuer.jwksRequests() - before).toBeLessThanOrEqual(1);
  });
});

describe('identity provider unavailable', () => {
  let lateIssuer: TestIssuer;
  let lateGateway: TestGateway;

  beforeAll(async () => {
    lateIssuer = await startTestIssuer();
    lateIssuer.setAvailable(false);
    lateGateway = await startTestGateway({
      OIDC_ISSUER: lateIssuer.issuer,
      ORTHANC_URL: orthanc.url,
      ORTHANC_USERNAME: orthanc.username,
      ORTHANC_PASSWORD: orthanc.password,
    });
  });

  afterAll(async () => {
    await lateGateway?.close();
    await lateIssuer?.stop();
  });

  it('answers 503 JSON while keys cannot be fetched, then recovers by itself', async () => {
    const token = await lateIssuer.token('viewer', ['pacs-viewer']);
    const down = await fetch(`${lateGateway.url}${QIDO}`, { headers: { authorization: `Bearer ${token}` } });
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({ error: 'service_unavailable' });

    lateIssuer.setAvailable(true);
    let status = 0;
    for (let attempt = 0; attempt < 40 && status !== 200; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      status = (await fetch(`${lateGateway.url}${QIDO}`, { headers: { authorization: `Bearer ${token}` } })).status;
    }
    expect(status).toBe(200);
  });
});
