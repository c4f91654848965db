import { constants, createHash, createHmac, KeyObject, sign as cryptoSign } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { JWTPayload } from 'jose';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { startGateway } from '../../src/server.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { Browser, left } from '../support/http-browser.js';
import { startOrthanc, type TestOrthanc } from '../support/orthanc.js';
import { startRogueOp, type RogueKey, type RogueOp, type TokenScript } from '../support/rogue-op.js';
import { expectGatewayAlive, expectOrthancSawNothing, NO_RATE_LIMITS } from '../support/security.js';
import { DEV_PASSWORDS, gatewayClientTokens, startSessionStack, type SessionStack } from '../support/session-stack.js';

/**
 * Attack suite, category "OpenID relying party": the gateway's browser sign-in checked the way the
 * OpenID RP certification checks a client. Two providers:
 *
 *  - a hostile provider (tests/support/rogue-op.ts) whose token endpoint answers each sign-in with
 *    the ID / access token the case scripts: bad signatures, `alg: none`, wrong iss / aud / azp /
 *    nonce, missing sub / iat, `kid` absent with one and with several keys, `crit`…;
 *  - the real dev IdP (oidc-provider), for what must hold against a correct provider: the
 *    authorization request (PKCE S256, state, nonce), tampered requests, code replay and injection,
 *    discovery naming another issuer, and signing-key rotation.
 *
 * A refused sign-in answers the "Sign-in failed" page, leaves no signed-in session, and nothing
 * reaches Orthanc.
 */
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** An RS256 (or PS256) JWS with exactly this header, whatever jose would refuse to produce. */
function rawJws(header: Record<string, unknown>, payload: unknown, key: RogueKey, alg: 'RS256' | 'PS256' = 'RS256'): string {
  const input = Buffer.from(`${b64({ ...header, alg })}.${b64(payload)}`);
  const keyObject = KeyObject.from(key.privateKey);
  const signature =
    alg === 'PS256'
      ? cryptoSign('sha256', input, { key: keyObject, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 })
      : cryptoSign('sha256', input, keyObject);
  return `${input.toString()}.${signature.toString('base64url')}`;
}

function decodePayload(jwt: string): JWTPayload {
  return JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString()) as JWTPayload;
}

interface SignInResult {
  browser: Browser;
  authorizationUrl: URL;
  callback: URL;
  response: Response;
}

/** /auth/login on the gateway, the rogue provider's code for that request (scripted), then the callback. */
async function signInAtRogue(gatewayUrl: string, op: RogueOp, script?: TokenScript, editCallback?: (callback: URL) => void): Promise<SignInResult> {
  const browser = new Browser();
  const start = await browser.request(`${gatewayUrl}/auth/login?returnTo=/auth/me`);
  expect(start.status).toBe(302);
  const authorizationUrl = new URL(start.headers.get('location') ?? '');
  const callback = op.authorize(authorizationUrl, script);
  editCallback?.(callback);
  const response = await browser.request(callback.href);
  return { browser, authorizationUrl, callback, response };
}

/** The sign-in was refused: the error page, no signed-in session, nothing forwarded to Orthanc. */
async function expectRefusedSignIn(result: SignInResult, gatewayUrl: string, orthanc: TestOrthanc, status = 400, title = 'Sign-in failed'): Promise<void> {
  expect(result.response.status).toBe(status);
  expect(await result.response.text()).toContain(title);
  const me = await result.browser.request(`${gatewayUrl}/auth/me`, { headers: { accept: 'application/json' } });
  expect(me.status).toBe(401);
  const api = await result.browser.request(`${gatewayUrl}/pacs/dicom-web/studies`, { headers: { accept: 'application/json' } });
  expect(api.status).toBe(401);
  await expectOrthancSawNothing(orthanc);
  await expectGatewayAlive(gatewayUrl);
}

async function expectSignedIn(result: SignInResult, gatewayUrl: string): Promise<void> {
  expect([result.response.status, result.response.headers.get('location')]).toEqual([302, '/auth/me']);
  const me = await result.browser.request(`${gatewayUrl}/auth/me`, { headers: { accept: 'application/json' } });
  expect(me.status).toBe(200);
  expect(await me.json()).toMatchObject({ sub: 'rogue-user', via: 'session' });
}

const now = () => Math.floor(Date.now() / 1000);

describe('a hostile provider: ID and access token validation at sign-in', () => {
  let orthanc: TestOrthanc;
  let op: RogueOp;
  let multiKeyOp: RogueOp;
  let gateway: TestGateway;
  let multiKeyGateway: TestGateway;

  const gatewayEnv = (provider: RogueOp) => ({
    OIDC_ISSUER: provider.issuer,
    OIDC_CLIENT_SECRET: provider.clientSecret,
    ORTHANC_URL: orthanc.url,
    ORTHANC_USERNAME: orthanc.username,
    ORTHANC_PASSWORD: orthanc.password,
    SESSION_SECRET: 'rogue-test-session-secret-0123456789abcdef',
    ...NO_RATE_LIMITS,
  });

  beforeAll(async () => {
    [orthanc, op, multiKeyOp] = await Promise.all([startOrthanc(), startRogueOp(), startRogueOp({ keys: 2 })]);
    [gateway, multiKeyGateway] = await Promise.all([startTestGateway(gatewayEnv(op)), startTestGateway(gatewayEnv(multiKeyOp))]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([gateway?.close(), multiKeyGateway?.close()]);
    await Promise.all([orthanc?.stop(), op?.stop(), multiKeyOp?.stop()]);
  });

  it('control: a correct provider answer signs the user in; the code went back with the PKCE verifier and client authentication', async () => {
    const result = await signInAtRogue(gateway.url, op);
    await expectSignedIn(result, gateway.url);
    const request = op.tokenRequests().at(-1)!;
    expect(request.form['grant_type']).toBe('authorization_code');
    expect(request.form['redirect_uri']).toBe(`${gateway.config.publicUrl}/auth/callback`);
    expect(createHash('sha256').update(request.form['code_verifier'] ?? '').digest('base64url')).toBe(result.authorizationUrl.searchParams.get('code_challenge'));
    expect(request.authorization ?? request.form['client_secret']).toBeTruthy();
  });

  /** [name, the token endpoint's answer, status, page title]. */
  const idTokenCases: Array<[string, TokenScript, number, string]> = [
    ['control: kid absent, one key published (rp-id_token-kid-absent-single-jwks)', async (t) => ({ id_token: await t.idToken({}, { noKid: true }), access_token: await t.accessToken({}, { noKid: true }) }), 302, ''],
    ['ID token signed by an unpublished key (rp-id_token-bad-sig-rs256)', async (t) => ({ id_token: await t.idToken({}, { key: t.stranger }) }), 400, 'Sign-in failed'],
    ['ID token signed by an unpublished key claiming the published kid', async (t) => ({ id_token: await t.idToken({}, { key: t.stranger, header: { kid: op.keys[0]!.kid } }) }), 400, 'Sign-in failed'],
    [
      'ID token payload swapped after signing',
      async (t) => {
        const [header, , signature] = (await t.idToken()).split('.');
        return { id_token: `${header}.${b64({ ...decodePayload(await t.idToken()), sub: 'admin-user' })}.${signature}` };
      },
      400,
      'Sign-in failed',
    ],
    ['ID token alg none (rp-id_token-sig-none)', async (t) => ({ id_token: `${b64({ alg: 'none', typ: 'JWT' })}.${(await t.idToken()).split('.')[1]}.` }), 400, 'Sign-in failed'],
    [
      'ID token HS256 keyed with the client secret (the client registered RS256)',
      async (t) => {
        const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${(await t.idToken()).split('.')[1]}`;
        return { id_token: `${input}.${createHmac('sha256', op.clientSecret).update(input).digest('base64url')}` };
      },
      400,
      'Sign-in failed',
    ],
    ['ID token PS256 with the RS256 key', async (t) => ({ id_token: rawJws({ kid: op.keys[0]!.kid, typ: 'JWT' }, decodePayload(await t.idToken()), op.keys[0]!, 'PS256') }), 400, 'Sign-in failed'],
    ['ID token with an unknown crit extension', async (t) => ({ id_token: rawJws({ kid: op.keys[0]!.kid, crit: ['x-skip'], 'x-skip': true }, decodePayload(await t.idToken()), op.keys[0]!) }), 400, 'Sign-in failed'],
    ['ID token from another issuer (rp-id_token-issuer-mismatch)', async (t) => ({ id_token: await t.idToken({ iss: 'http://evil.example/realms/rogue' }) }), 400, 'Sign-in failed'],
    ['ID token for another client (rp-id_token-aud)', async (t) => ({ id_token: await t.idToken({ aud: 'ohif-viewer', azp: 'ohif-viewer' }) }), 400, 'Sign-in failed'],
    ['ID token for several audiences without azp', async (t) => ({ id_token: await t.idToken({ aud: [t.clientId, 'evil-client'], azp: undefined }) }), 400, 'Sign-in failed'],
    ['ID token for several audiences, azp another client', async (t) => ({ id_token: await t.idToken({ aud: [t.clientId, 'evil-client'], azp: 'evil-client' }) }), 400, 'Sign-in failed'],
    ['ID token for this client, azp another client', async (t) => ({ id_token: await t.idToken({ aud: t.clientId, azp: 'ohif-viewer' }) }), 400, 'Sign-in failed'],
    ['control: several audiences, azp this client', async (t) => ({ id_token: await t.idToken({ aud: [t.clientId, 'other-api'], azp: t.clientId }) }), 302, ''],
    ['ID token issued 2 minutes in the future (beyond the 30 s clock tolerance)', async (t) => ({ id_token: await t.idToken({ iat: now() + 120, exp: now() + 420 }) }), 400, 'Sign-in failed'],
    ['control: ID token issued 10 s in the future (within the clock tolerance)', async (t) => ({ id_token: await t.idToken({ iat: now() + 10 }) }), 302, ''],
    ['ID token expired', async (t) => ({ id_token: await t.idToken({ iat: now() - 900, exp: now() - 600 }) }), 400, 'Sign-in failed'],
    ['ID token without exp', async (t) => ({ id_token: await t.idToken({ exp: undefined }) }), 400, 'Sign-in failed'],
    ['ID token without iat (rp-id_token-iat)', async (t) => ({ id_token: await t.idToken({ iat: undefined }) }), 400, 'Sign-in failed'],
    ['ID token without sub (rp-id_token-sub)', async (t) => ({ id_token: await t.idToken({ sub: undefined }) }), 400, 'Sign-in failed'],
    ['ID token without nonce (rp-nonce-unless-code-flow: the gateway always sends one)', async (t) => ({ id_token: await t.idToken({ nonce: undefined }) }), 400, 'Sign-in failed'],
    ['ID token with another nonce (rp-nonce-invalid)', async (t) => ({ id_token: await t.idToken({ nonce: 'attacker-nonce' }) }), 400, 'Sign-in failed'],
    ['no ID token in the token response', async () => ({ id_token: undefined }), 400, 'Sign-in failed'],
    ['an ID token where the access token belongs (typ ID)', async (t) => ({ access_token: await t.idToken() }), 400, 'Sign-in failed'],
    ['an access token for another audience only', async (t) => ({ access_token: await t.accessToken({ aud: 'account' }) }), 400, 'Sign-in failed'],
    ['an access token signed by an unpublished key', async (t) => ({ access_token: await t.accessToken({}, { key: t.stranger }) }), 400, 'Sign-in failed'],
    ['an access token with alg none', async (t) => ({ access_token: `${b64({ alg: 'none' })}.${(await t.accessToken()).split('.')[1]}.` }), 400, 'Sign-in failed'],
    ['an expired access token', async (t) => ({ access_token: await t.accessToken({ iat: now() - 900, exp: now() - 600 }) }), 400, 'Sign-in failed'],
    ['an access token from another issuer', async (t) => ({ access_token: await t.accessToken({ iss: 'http://evil.example/realms/rogue' }) }), 400, 'Sign-in failed'],
  ];

  it.each(idTokenCases.map(([name, script, status, title]) => [name, status, script, title] as const))('%s → %i', async (_name, status, script, title) => {
    await orthanc.clearSeenRequests();
    const result = await signInAtRogue(gateway.url, op, script);
    if (status === 302) await expectSignedIn(result, gateway.url);
    else await expectRefusedSignIn(result, gateway.url, orthanc, status, title);
  });

  /** [name, change to the callback URL the browser brings back, status, page title]. */
  const callbackCases: Array<[string, (callback: URL) => void, number, string]> = [
    ['RFC 9207 iss of another provider (mix-up)', (url) => url.searchParams.set('iss', 'http://evil.example/realms/rogue'), 400, 'Sign-in failed'],
    ['RFC 9207 iss missing although advertised', (url) => url.searchParams.delete('iss'), 400, 'Sign-in failed'],
    ['code missing', (url) => url.searchParams.delete('code'), 400, 'Sign-in failed'],
    ['a code the provider never issued', (url) => url.searchParams.set('code', 'forged-code'), 400, 'Sign-in failed'],
    ['state missing', (url) => url.searchParams.delete('state'), 400, 'Sign-in expired'],
    ['state of no sign-in of this browser', (url) => url.searchParams.set('state', 'attacker-state'), 400, 'Sign-in expired'],
    ['state given twice', (url) => url.searchParams.append('state', 'attacker-state'), 400, 'Sign-in expired'],
  ];

  it.each(callbackCases.map(([name, edit, status, title]) => [name, status, edit, title] as const))('callback with %s → %i', async (_name, status, edit, title) => {
    await orthanc.clearSeenRequests();
    const result = await signInAtRogue(gateway.url, op, undefined, edit);
    await expectRefusedSignIn(result, gateway.url, orthanc, status, title);
  });

  it('a replayed callback (same code and state) is refused, the first session is unaffected', async () => {
    const first = await signInAtRogue(gateway.url, op);
    await expectSignedIn(first, gateway.url);
    const replay = await new Browser().request(first.callback.href);
    expect(replay.status).toBe(400);
    const again = await first.browser.request(first.callback.href);
    expect(again.status).toBe(400);
    expect((await first.browser.request(`${gateway.url}/auth/me`)).status).toBe(200);
  });

  describe('kid absent with several published keys (rp-id_token-kid-absent-multiple-jwks)', () => {
    it.each<[string, TokenScript]>([
      ['ID token without kid', async (t) => ({ id_token: await t.idToken({}, { noKid: true }) })],
      ['access token without kid', async (t) => ({ access_token: await t.accessToken({}, { noKid: true }) })],
    ])('%s → 400, no key is guessed', async (_name, script) => {
      await orthanc.clearSeenRequests();
      const result = await signInAtRogue(multiKeyGateway.url, multiKeyOp, script);
      await expectRefusedSignIn(result, multiKeyGateway.url, orthanc);
    });

    it('control: with kids, either published key signs in', async () => {
      for (const key of multiKeyOp.keys) {
        const result = await signInAtRogue(multiKeyGateway.url, multiKeyOp, async (t) => ({ id_token: await t.idToken({}, { key }), access_token: await t.accessToken({}, { key }) }));
        await expectSignedIn(result, multiKeyGateway.url);
      }
    });
  });
});

describe('discovery naming another issuer', () => {
  let orthanc: TestOrthanc;
  let liar: RogueOp;

  beforeAll(async () => {
    [orthanc, liar] = await Promise.all([startOrthanc(), startRogueOp({ discoveryIssuer: 'http://evil.example/realms/rogue' })]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([orthanc?.stop(), liar?.stop()]);
  });

  const env = (issuer: string, discoveryUrl?: string) => ({
    OIDC_ISSUER: issuer,
    ...(discoveryUrl ? { OIDC_DISCOVERY_URL: discoveryUrl } : {}),
    OIDC_CLIENT_SECRET: liar.clientSecret,
    ORTHANC_URL: orthanc.url,
    ORTHANC_USERNAME: orthanc.username,
    ORTHANC_PASSWORD: orthanc.password,
    ...NO_RATE_LIMITS,
  });

  it.each([
    ['the document names another issuer', () => env(liar.issuer)],
    ['OIDC_ISSUER differs by a trailing slash', () => env(`${liar.issuer}/`, liar.issuer)],
  ])('the gateway refuses to start when %s (start-up check)', async (_name, makeEnv) => {
    const config = loadConfig({ PORT: String(0), LOG_LEVEL: 'silent', ...makeEnv() });
    await expect(startGateway(config, createLogger('silent'), '127.0.0.1', { startupChecks: true })).rejects.toThrow(/issuer/);
  });

  it('a gateway started without the check still never uses that provider: sign-in and Bearer tokens are refused', async () => {
    const gateway = await startTestGateway(env(liar.issuer));
    await orthanc.clearSeenRequests(); // the start-up checks above asked Orthanc for /system
    try {
      const login = await fetch(`${gateway.url}/auth/login?returnTo=/`, { redirect: 'manual' });
      expect(login.status).toBe(500);
      expect(login.headers.get('location')).toBeNull();
      const bearer = await fetch(`${gateway.url}/pacs/dicom-web/studies`, { headers: { authorization: 'Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln' } });
      expect(bearer.status).toBe(503);
      expect(liar.tokenRequests()).toEqual([]);
      await expectOrthancSawNothing(orthanc);
      await expectGatewayAlive(gateway.url);
    } finally {
      await gateway.close();
    }
  });
});

describe('against the real dev IdP', () => {
  let stack: SessionStack;
  let gatewayUrl: string;
  let callbackPrefix: string;

  beforeAll(async () => {
    // JWKS_CACHE_SECONDS=2: key rotation observable in seconds (the download cooldown is min(30 s, cache age)).
    stack = await startSessionStack({ replicas: 2, env: { ...NO_RATE_LIMITS, JWKS_CACHE_SECONDS: '2' } });
    gatewayUrl = stack.gateways[0]!.url;
    callbackPrefix = `${stack.publicUrl}/auth/callback`;
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
  });

  async function startLogin(browser: Browser, url = gatewayUrl, query = 'returnTo=/auth/me'): Promise<URL> {
    const start = await browser.request(`${url}/auth/login?${query}`);
    expect(start.status).toBe(302);
    return new URL(start.headers.get('location') ?? '');
  }

  /** Logs in at the IdP with a (possibly edited) authorization URL; returns the callback URL it sends back. */
  async function atIdp(browser: Browser, authorizationUrl: URL, username = 'viewer'): Promise<URL> {
    return left(await browser.login(authorizationUrl, username, DEV_PASSWORDS[username] ?? '', [callbackPrefix]));
  }

  async function expectNoSession(browser: Browser): Promise<void> {
    expect((await browser.request(`${gatewayUrl}/auth/me`, { headers: { accept: 'application/json' } })).status).toBe(401);
    await expectOrthancSawNothing(stack.orthanc);
    await expectGatewayAlive(gatewayUrl);
  }

  describe('the authorization request', () => {
    it('always asks for the code flow with PKCE S256, a fresh state and nonce, and the fixed redirect_uri', async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 5; i++) {
        const url = await startLogin(new Browser());
        const params = url.searchParams;
        expect(url.href.startsWith(`${stack.idp.issuer}/`)).toBe(true);
        expect(params.get('response_type')).toBe('code');
        expect(params.get('code_challenge_method')).toBe('S256');
        expect(params.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
        expect(params.get('state')).toMatch(/^[A-Za-z0-9_-]{32,}$/);
        expect(params.get('nonce')).toMatch(/^[A-Za-z0-9_-]{32,}$/);
        expect(params.get('redirect_uri')).toBe(callbackPrefix);
        expect(params.get('client_id')).toBe('orthanc-gateway');
        expect(params.get('scope')?.split(' ')).toContain('openid');
        for (const value of [params.get('state'), params.get('nonce'), params.get('code_challenge')]) seen.add(value!);
      }
      expect(seen.size).toBe(15);
    });

    it.each([
      ['code_challenge_method=plain', 'code_challenge_method=plain&code_challenge=x'],
      ['response_type=token', 'response_type=token'],
      ['redirect_uri', `redirect_uri=${encodeURIComponent('http://evil.example/cb')}`],
      ['state and nonce', 'state=attacker&nonce=attacker'],
      ['prompt=none', 'prompt=none'],
    ])('parameters a visitor adds to /auth/login (%s) never reach the authorization request', async (_name, extra) => {
      const url = await startLogin(new Browser(), gatewayUrl, `returnTo=/&${extra}`);
      const params = url.searchParams;
      expect(params.get('code_challenge_method')).toBe('S256');
      expect(params.get('response_type')).toBe('code');
      expect(params.get('redirect_uri')).toBe(callbackPrefix);
      expect(params.get('state')).not.toBe('attacker');
      expect(params.get('nonce')).not.toBe('attacker');
      expect(params.has('prompt')).toBe(false);
      expect(url.href).not.toContain('evil.example');
    });
  });

  /** [name, edit of the authorization URL on its way to the IdP (an attacker in the browser), status]. */
  const tamperedRequests: Array<[string, (url: URL) => void, number]> = [
    ['nonce replaced (the ID token carries the attacker nonce)', (url) => url.searchParams.set('nonce', 'attacker-chosen-nonce'), 400],
    ['nonce removed', (url) => url.searchParams.delete('nonce'), 400],
    [
      'code_challenge replaced by one the attacker can answer',
      (url) => url.searchParams.set('code_challenge', createHash('sha256').update('attacker-verifier-attacker-verifier-0123456789').digest('base64url')),
      400,
    ],
    ['PKCE stripped (downgrade): the IdP refuses, the gateway shows its error', (url) => {
      url.searchParams.delete('code_challenge');
      url.searchParams.delete('code_challenge_method');
    }, 400],
    ['PKCE downgraded to plain', (url) => {
      url.searchParams.set('code_challenge_method', 'plain');
      url.searchParams.set('code_challenge', 'attacker-verifier-attacker-verifier-0123456789');
    }, 400],
    ['scope without openid (no ID token comes back)', (url) => url.searchParams.set('scope', 'profile email'), 400],
  ];

  it.each(tamperedRequests.map(([name, edit, status]) => [name, status, edit] as const))('tampered authorization request: %s → %i, no session', async (_name, status, edit) => {
    await stack.orthanc.clearSeenRequests();
    const browser = new Browser();
    const url = await startLogin(browser);
    edit(url);
    const callback = await atIdp(browser, url);
    const response = await browser.request(callback.href);
    expect(response.status).toBe(status);
    expect(await response.text()).toMatch(/Sign-in failed/);
    await expectNoSession(browser);
  });

  it('a code is single use: replayed under a new sign-in of the same browser it is refused', async () => {
    await stack.orthanc.clearSeenRequests();
    const browser = new Browser();
    const first = await atIdp(browser, await startLogin(browser));
    expect((await browser.request(first.href)).status).toBe(302);
    await browser.request(`${gatewayUrl}/auth/logout`, { method: 'POST', headers: { origin: stack.publicUrl } });

    const second = await startLogin(browser);
    const replay = new URL(first.href);
    replay.searchParams.set('state', second.searchParams.get('state')!);
    const response = await browser.request(replay.href);
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('Sign-in failed');
    await expectNoSession(browser);
  });

  it('code injection: an attacker\'s code delivered into a victim\'s sign-in fails the PKCE check', async () => {
    await stack.orthanc.clearSeenRequests();
    const attacker = new Browser();
    const attackerCallback = await atIdp(attacker, await startLogin(attacker), 'admin'); // never delivered by the attacker
    const victim = new Browser();
    const victimLogin = await startLogin(victim);
    const injected = new URL(attackerCallback.href);
    injected.searchParams.set('state', victimLogin.searchParams.get('state')!);
    const response = await victim.request(injected.href);
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('Sign-in failed');
    await expectNoSession(victim);
  });

  it('a code swapped between two sign-ins of one browser (two tabs) fails the PKCE check', async () => {
    const browser = new Browser();
    const tabA = await startLogin(browser);
    const tabB = await startLogin(browser);
    const callbackA = await atIdp(browser, tabA);
    const swapped = new URL(callbackA.href);
    swapped.searchParams.set('state', tabB.searchParams.get('state')!);
    const response = await browser.request(swapped.href);
    expect(response.status).toBe(400);
    await expectNoSession(browser);
  });

  it('ID and refresh tokens of the real IdP are no Bearer credentials; its access token is', async () => {
    const tokens = await gatewayClientTokens(stack, 'admin');
    const call = (token: string) => fetch(`${gatewayUrl}/pacs-admin/system`, { headers: { authorization: `Bearer ${token}` } });
    await stack.orthanc.clearSeenRequests();
    expect((await call(tokens.id_token!)).status).toBe(401);
    expect((await call(tokens.refresh_token!)).status).toBe(401);
    await expectOrthancSawNothing(stack.orthanc);
    expect((await call(tokens.access_token)).status).toBe(200);
  });

  it('key rotation: tokens of a new key are accepted, unseen tokens of a retired key refused once the key set is re-read', async () => {
    // A replica no other case used, so its key cache holds exactly what this case shows it.
    const replica = stack.gateways[1]!.url;
    const bearerFor = async () => (await gatewayClientTokens(stack, 'viewer')).access_token;
    const call = async (token: string) => (await fetch(`${replica}/pacs/dicom-web/studies`, { headers: { authorization: `Bearer ${token}` } })).status;
    const kidOf = (jwt: string) => (JSON.parse(Buffer.from(jwt.split('.')[0]!, 'base64url').toString()) as { kid: string }).kid;

    const oldKid = stack.idp.currentKid;
    const [oldShown, oldUnseen] = [await bearerFor(), await bearerFor()];
    expect([kidOf(oldShown), kidOf(oldUnseen)]).toEqual([oldKid, oldKid]);
    expect(await call(oldShown)).toBe(200);

    const newKid = await stack.idp.rotateKeys();
    await new Promise((resolve) => setTimeout(resolve, 2200)); // past the key-download cooldown
    const fresh = await bearerFor();
    expect(kidOf(fresh)).toBe(newKid);
    expect(await call(fresh)).toBe(200);

    const browser = new Browser();
    const callback = await atIdp(browser, await startLogin(browser, replica));
    const signedIn = await browser.request(new URL(callback.pathname + callback.search, replica).href);
    expect([signedIn.status, signedIn.headers.get('location')]).toEqual([302, '/auth/me']);

    stack.idp.retireOldKeys();
    await new Promise((resolve) => setTimeout(resolve, 2200)); // past JWKS_CACHE_SECONDS
    await stack.orthanc.clearSeenRequests();
    expect(await call(oldUnseen)).toBe(401);
    await expectOrthancSawNothing(stack.orthanc);
    expect(await call(fresh)).toBe(200);
  }, 30_000);
});
