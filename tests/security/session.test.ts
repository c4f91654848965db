import { createHmac } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { makeSeries } from '../support/dicom.js';
import { stowBody } from '../support/dicomweb.js';
import { startTestGateway } from '../support/gateway.js';
import { Browser, left } from '../support/http-browser.js';
import { rawRequest } from '../support/raw-http.js';
import { expectGatewayAlive, expectOrthancSawNothing, NO_RATE_LIMITS } from '../support/security.js';
import { DEV_PASSWORDS, gatewayClientTokens, signIn, startSessionStack, type SessionStack } from '../support/session-stack.js';

/**
 * Attack suite, category "browser session": session fixation, forged and tampered cookies, cookie
 * flags, login CSRF (callbacks this browser did not start), state replay, open redirects through
 * `returnTo`, logout CSRF, cross-site state changes riding on the cookie, and forged back-channel
 * logout requests. Real dev IdP, Redis and Orthanc; a cookie jar plays the browser.
 */
let stack: SessionStack;
let gatewayUrl: string;
let callbackPrefix: string;
const SECRET = 'test-session-secret-0123456789abcdef0123456789'; // what startSessionStack configures
const COOKIE = 'gw-session';
const json = { accept: 'application/json' };

beforeAll(async () => {
  stack = await startSessionStack({ env: { ...NO_RATE_LIMITS } });
  gatewayUrl = stack.gateways[0]!.url;
  callbackPrefix = `${stack.publicUrl}/auth/callback`;
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

async function signedIn(username: string): Promise<Browser> {
  const browser = new Browser();
  const step = await signIn(browser, gatewayUrl, username);
  if (step.kind !== 'page' || step.status !== 200) throw new Error(`sign-in as ${username} failed`);
  return browser;
}

/** The raw (still percent-encoded) session cookie value of a browser. */
const cookieOf = (browser: Browser) => browser.cookie(COOKIE) ?? '';

/** express-session's cookie signature: `s:<id>.<HMAC-SHA256(id) in base64 without padding>`. */
function signSessionId(id: string, secret: string): string {
  return encodeURIComponent(`s:${id}.${createHmac('sha256', secret).update(id).digest('base64').replace(/=+$/, '')}`);
}

async function statusWithCookie(cookie: string, path = '/pacs/dicom-web/studies'): Promise<number> {
  const response = await rawRequest(gatewayUrl, path, { headers: { cookie, ...json } });
  return response.status;
}

describe('cookie flags', () => {
  it('the session cookie is HttpOnly, SameSite=Lax, host-only, Path=/, idle-limited, and holds only a signed id', async () => {
    const login = await fetch(`${gatewayUrl}/auth/login?returnTo=/`, { redirect: 'manual' });
    const setCookie = login.headers.getSetCookie().find((line) => line.startsWith(`${COOKIE}=`)) ?? '';
    const attributes = setCookie.split(';').slice(1).map((part) => part.trim().toLowerCase());
    expect(attributes).toContain('path=/');
    expect(attributes).toContain('httponly');
    expect(attributes).toContain('samesite=lax');
    expect(attributes.some((attribute) => attribute.startsWith('domain='))).toBe(false);
    expect(attributes).not.toContain('secure'); // PUBLIC_URL is http here; https: see below
    const expires = Date.parse(attributes.find((attribute) => attribute.startsWith('expires='))?.slice('expires='.length) ?? '');
    expect(expires - Date.now()).toBeGreaterThan(1790_000);
    expect(expires - Date.now()).toBeLessThanOrEqual(1800_000);

    const browser = await signedIn('viewer');
    expect(decodeURIComponent(cookieOf(browser))).toMatch(/^s:[\w-]{32}\.[\w+/]{43}$/);
  });

  it('is __Host- prefixed and Secure when PUBLIC_URL is https behind a TLS-terminating proxy, with HSTS and an https redirect_uri', async () => {
    const gateway = await startTestGateway({
      PUBLIC_URL: 'https://pacs.example.org',
      TRUST_PROXY: 'true',
      OIDC_ISSUER: stack.idp.issuer,
      OIDC_CLIENT_SECRET: 'unused-here',
      ORTHANC_URL: stack.orthanc.url,
      ORTHANC_USERNAME: stack.orthanc.username,
      ORTHANC_PASSWORD: stack.orthanc.password,
      REDIS_URL: stack.redis.url,
      SESSION_SECRET: 'another-test-session-secret-0123456789abcdef',
    });
    try {
      const response = await fetch(`${gateway.url}/auth/login?returnTo=/`, { headers: { 'x-forwarded-proto': 'https' }, redirect: 'manual' });
      expect(response.status).toBe(302);
      const setCookie = response.headers.getSetCookie().find((line) => line.startsWith('__Host-gw-session=')) ?? '';
      expect(setCookie).toMatch(/; Path=\/; .*HttpOnly; Secure; SameSite=Lax$/);
      expect(setCookie).not.toMatch(/Domain=/i);
      expect(response.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
      expect(new URL(response.headers.get('location') ?? '').searchParams.get('redirect_uri')).toBe('https://pacs.example.org/auth/callback');
    } finally {
      await gateway.close();
    }
  });

  it.each([
    ['a Bearer request', { authorization: 'Bearer not.a.token', ...json }],
    ['an anonymous API call', json],
    ['a health check', {}],
  ])('%s gets no session cookie', async (_name, headers: Record<string, string>) => {
    for (const path of ['/pacs/dicom-web/studies', '/healthz', '/auth/me']) {
      const response = await fetch(`${gatewayUrl}${path}`, { headers, redirect: 'manual' });
      expect([path, response.headers.getSetCookie()]).toEqual([path, []]);
    }
  });
});

describe('forged and tampered cookies', () => {
  let valid: string;
  let sessionId: string;

  beforeAll(async () => {
    valid = cookieOf(await signedIn('admin'));
    sessionId = /^s:([^.]+)\./.exec(decodeURIComponent(valid))![1]!;
  });

  it('control: the genuine cookie works, encoded or not', async () => {
    expect(await statusWithCookie(`${COOKIE}=${valid}`)).toBe(200);
    expect(await statusWithCookie(`${COOKIE}=${decodeURIComponent(valid)}`)).toBe(200);
  });

  const flip = (text: string, index: number) => text.slice(0, index) + (text[index] === 'A' ? 'B' : 'A') + text.slice(index + 1);
  const cases: Array<[string, () => string]> = [
    ['a random unsigned value', () => 'attacker-chosen-session'],
    ['a random signed-looking value', () => encodeURIComponent('s:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')],
    ['the real session id without signature', () => sessionId],
    ['the real session id with "s:" but no signature', () => encodeURIComponent(`s:${sessionId}`)],
    ['the genuine cookie with one signature character changed', () => encodeURIComponent(flip(decodeURIComponent(valid), decodeURIComponent(valid).length - 2))],
    ['the genuine signature on another session id', () => encodeURIComponent(decodeURIComponent(valid).replace(sessionId, flip(sessionId, 3)))],
    ['the session id signed with a guessed secret ("keyboard cat")', () => signSessionId(sessionId, 'keyboard cat')],
    ['the session id signed with an empty secret', () => signSessionId(sessionId, '')],
    ['the session id signed with the .env.example placeholder', () => signSessionId(sessionId, 'change-me-to-a-long-random-string-of-32-chars-or-more')],
    ['a chosen id signed with the right algorithm and a wrong secret', () => signSessionId('attacker-fixed-id', `${SECRET}x`)],
    ['the Redis key of the session as id', () => signSessionId(`gw:sess:${sessionId}`, 'keyboard cat')],
    ['an 8 KB cookie', () => 'x'.repeat(8000)],
  ];

  it.each(cases)('%s → 401, never forwarded', async (_name, makeCookie) => {
    await stack.orthanc.clearSeenRequests();
    expect(await statusWithCookie(`${COOKIE}=${makeCookie()}`)).toBe(401);
    expect(await statusWithCookie(`${COOKIE}=${makeCookie()}`, '/auth/me')).toBe(401);
    expect(await statusWithCookie(`${COOKIE}=${makeCookie()}`, '/pacs-admin/system')).toBe(401);
    await expectOrthancSawNothing(stack.orthanc);
    await expectGatewayAlive(gatewayUrl);
  });

  it('a forged cookie in front of the genuine one is what counts (first cookie wins): 401', async () => {
    expect(await statusWithCookie(`${COOKIE}=${signSessionId(sessionId, 'keyboard cat')}; ${COOKIE}=${valid}`)).toBe(401);
  });
});

describe('session fixation', () => {
  it('a session id planted by an attacker is replaced at the victim\'s sign-in and never becomes signed in', async () => {
    const attacker = await fetch(`${gatewayUrl}/auth/login?returnTo=/`, { redirect: 'manual' });
    const planted = attacker.headers.getSetCookie().find((line) => line.startsWith(`${COOKIE}=`))!.split(';')[0]!.slice(COOKIE.length + 1);

    // The victim's browser carries the planted cookie for every gateway request (the IdP part is its own).
    const withPlanted = { cookie: `${COOKIE}=${planted}` };
    const start = await fetch(`${gatewayUrl}/auth/login?returnTo=/auth/me`, { headers: withPlanted, redirect: 'manual' });
    const callback = left(await new Browser().login(new URL(start.headers.get('location')!), 'admin', DEV_PASSWORDS['admin']!, [callbackPrefix]));
    const done = await fetch(callback.href.replace(stack.publicUrl, gatewayUrl), { headers: withPlanted, redirect: 'manual' });
    expect([done.status, done.headers.get('location')]).toEqual([302, '/auth/me']);
    const issued = done.headers.getSetCookie().find((line) => line.startsWith(`${COOKIE}=`))!.split(';')[0]!.slice(COOKIE.length + 1);
    expect(issued).not.toBe(planted);

    await stack.orthanc.clearSeenRequests();
    expect(await statusWithCookie(`${COOKIE}=${planted}`, '/auth/me')).toBe(401);
    expect(await statusWithCookie(`${COOKIE}=${planted}`, '/pacs-admin/system')).toBe(401);
    await expectOrthancSawNothing(stack.orthanc);
    expect(await statusWithCookie(`${COOKIE}=${issued}`, '/pacs-admin/system')).toBe(200);
  });

  it('signing in through a planted pre-login session issues a new id; the planted one stays anonymous', async () => {
    const browser = new Browser();
    const attempt = await browser.navigate(`${gatewayUrl}/auth/login?returnTo=/auth/me`, {}, [stack.idp.issuer]);
    expect(attempt.kind).toBe('left');
    const before = cookieOf(browser); // what an attacker who planted it knows
    await signIn(browser, gatewayUrl, 'admin');
    const after = cookieOf(browser);
    expect(after).not.toBe(before);
    expect(await statusWithCookie(`${COOKIE}=${before}`, '/pacs-admin/system')).toBe(401);
    expect(await statusWithCookie(`${COOKIE}=${after}`, '/pacs-admin/system')).toBe(200);
  });

  it('an attacker-chosen unsigned id is ignored: sign-in starts a session with a server-made id', async () => {
    const response = await fetch(`${gatewayUrl}/auth/login?returnTo=/`, { headers: { cookie: `${COOKIE}=attacker-chosen` }, redirect: 'manual' });
    const issued = response.headers.getSetCookie().find((line) => line.startsWith(`${COOKIE}=`)) ?? '';
    expect(issued).not.toContain('attacker-chosen');
    expect(decodeURIComponent(issued.split(';')[0]!.slice(COOKIE.length + 1))).toMatch(/^s:[\w-]{32}\./);
  });

  it('a cookie captured before sign-out is dead afterwards (server-side session destroyed)', async () => {
    const browser = await signedIn('viewer');
    const captured = cookieOf(browser);
    expect(await statusWithCookie(`${COOKIE}=${captured}`)).toBe(200);
    expect((await browser.request(`${gatewayUrl}/auth/logout`, { method: 'POST', headers: { origin: stack.publicUrl } })).status).toBe(302);
    await stack.orthanc.clearSeenRequests();
    expect(await statusWithCookie(`${COOKIE}=${captured}`)).toBe(401);
    await expectOrthancSawNothing(stack.orthanc);
  });
});

describe('login CSRF and state replay', () => {
  beforeEach(async () => {
    await stack.orthanc.clearSeenRequests();
  });

  afterEach(async () => {
    await expectOrthancSawNothing(stack.orthanc);
    await expectGatewayAlive(gatewayUrl);
  });

  /** An attacker signs in with their own account up to the callback, and keeps that URL. */
  async function attackerCallback(): Promise<URL> {
    const attacker = new Browser();
    return left(await attacker.login(new URL('/auth/login?returnTo=/auth/me', gatewayUrl), 'admin', DEV_PASSWORDS['admin']!, [callbackPrefix]));
  }

  it("the attacker's complete callback in a victim's browser (no sign-in of its own) → 400, not signed in as the attacker", async () => {
    const victim = new Browser();
    const response = await victim.request((await attackerCallback()).href);
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('Sign-in expired');
    expect((await victim.request(`${gatewayUrl}/auth/me`, { headers: json })).status).toBe(401);
  });

  it("the attacker's callback in a victim's browser with its own sign-in pending → 400", async () => {
    const victim = new Browser();
    await victim.request(`${gatewayUrl}/auth/login?returnTo=/`);
    const response = await victim.request((await attackerCallback()).href);
    expect(response.status).toBe(400);
    expect((await victim.request(`${gatewayUrl}/auth/me`, { headers: json })).status).toBe(401);
  });

  it("the attacker's callback in a signed-in victim's browser → 400, the victim stays themselves", async () => {
    const victim = await signedIn('viewer');
    const response = await victim.request((await attackerCallback()).href);
    expect(response.status).toBe(400);
    const me = await victim.request(`${gatewayUrl}/auth/me`, { headers: json });
    expect(await me.json()).toMatchObject({ username: 'viewer' });
  });

  it('a callback without a session cookie → 400', async () => {
    const response = await fetch((await attackerCallback()).href, { redirect: 'manual' });
    expect(response.status).toBe(400);
    expect(response.headers.getSetCookie()).toEqual([]);
  });

  it('state is single use: the same callback twice → 302, then 400', async () => {
    const browser = new Browser();
    const callback = left(await browser.login(new URL('/auth/login?returnTo=/auth/me', gatewayUrl), 'viewer', DEV_PASSWORDS['viewer']!, [callbackPrefix]));
    expect((await browser.request(callback.href)).status).toBe(302);
    const replay = await browser.request(callback.href);
    expect(replay.status).toBe(400);
    expect(await replay.text()).toContain('Sign-in expired');
  });

  it('a flood of sign-in starts keeps at most 5 pending attempts per session: the oldest state is forgotten', async () => {
    const browser = new Browser();
    const states: string[] = [];
    for (let i = 0; i < 6; i++) {
      const start = await browser.request(`${gatewayUrl}/auth/login?returnTo=/`);
      states.push(new URL(start.headers.get('location')!).searchParams.get('state')!);
    }
    const forgotten = await browser.request(`${callbackPrefix.replace(stack.publicUrl, gatewayUrl)}?code=x&state=${states[0]}`);
    expect(forgotten.status).toBe(400);
    expect(await forgotten.text()).toContain('Sign-in expired');
  });
});

describe('open redirect through returnTo', () => {
  let browser: Browser;

  beforeAll(async () => {
    browser = await signedIn('viewer'); // signed in at the IdP too: later sign-ins come straight back
  });

  /** [payload, the exact Location of the final redirect]. */
  const payloads: Array<[string, string]> = [
    ['/pacs-admin/app/explorer.html#/x?y', '/pacs-admin/app/explorer.html#/x?y'],
    ['/viewer?StudyInstanceUIDs=1.2.3', '/viewer?StudyInstanceUIDs=1.2.3'],
    ['//evil.example', '/'],
    ['///evil.example', '/'],
    ['////evil.example', '/'],
    ['//evil.example/%2F..', '/'],
    ['/\\evil.example', '/'],
    ['\\/evil.example', '/'],
    ['\\\\evil.example', '/'],
    ['/\\/evil.example', '/'],
    ['%2F%2Fevil.example', '/'],
    ['/%2F%2Fevil.example', '/%2F%2Fevil.example'],
    ['/%5Cevil.example', '/%5Cevil.example'],
    ['/%5C%5Cevil.example', '/%5C%5Cevil.example'],
    ['https:evil.example', '/'],
    ['https:/evil.example', '/'],
    ['https://evil.example', '/'],
    ['HTTPS://EVIL.EXAMPLE', '/'],
    ['http://127.0.0.1@evil.example/', '/'],
    ['javascript:alert(1)', '/'],
    ['JaVaScRiPt:alert(document.domain)', '/'],
    ['/javascript:alert(1)', '/javascript:alert(1)'],
    ['data:text/html,<script>alert(1)</script>', '/'],
    ['/\t/evil.example', '/'],
    ['/\n/evil.example', '/'],
    ['/\r\n/evil.example', '/'],
    ['\t//evil.example', '/'],
    [' //evil.example', '/'],
    ['/%09/evil.example', '/%09/evil.example'],
    ['/.//evil.example', '/'],
    ['/./\\evil.example', '/'],
    ['/..//evil.example', '/'],
    ['/%2e%2e//evil.example', '/'],
    ['/.%2e//evil.example', '/'],
    ['/pacs/../..//evil.example', '/'],
    ['/pacs/../../evil', '/evil'],
    ['@evil.example', '/'],
    ['/@evil.example', '/@evil.example'],
    ['evil.example', '/'],
    ['\uff0f\uff0fevil.example', '/'],
    ['/\uff0fevil.example', '/%EF%BC%8Fevil.example'],
    ['/\u2215\u2215evil.example', '/%E2%88%95%E2%88%95evil.example'],
    ['\u2028//evil.example', '/'],
    ['/\r\nSet-Cookie: injected=1', '/'],
    ['/%0d%0aSet-Cookie:%20injected=1', '/%0d%0aSet-Cookie:%20injected=1'],
    [`/${'a'.repeat(3000)}`, '/'],
    ['', '/'],
  ];

  it.each(payloads)('returnTo=%j → Location %j', async (payload, location) => {
    const login = new URL(`/auth/login?returnTo=${encodeURIComponent(payload)}`, gatewayUrl);
    const callback = left(await browser.login(login, 'viewer', DEV_PASSWORDS['viewer']!, [callbackPrefix]));
    const done = await browser.request(callback.href);
    expect(done.status).toBe(302);
    expect(done.headers.get('location')).toBe(location);
    expect(new URL(location, gatewayUrl).origin).toBe(new URL(gatewayUrl).origin);
    expect(done.headers.getSetCookie().some((line) => line.startsWith('injected'))).toBe(false);
  });

  it('a NUL in returnTo is refused at /auth/login itself (400)', async () => {
    const response = await fetch(`${gatewayUrl}/auth/login?returnTo=${encodeURIComponent('/\u0000//evil.example')}`, { redirect: 'manual' });
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
  });

  it('returnTo given twice → Location /', async () => {
    const login = new URL(`/auth/login?returnTo=/pacs&returnTo=${encodeURIComponent('//evil.example')}`, gatewayUrl);
    const callback = left(await browser.login(login, 'viewer', DEV_PASSWORDS['viewer']!, [callbackPrefix]));
    expect((await browser.request(callback.href)).headers.get('location')).toBe('/');
  });
});

describe('logout CSRF', () => {
  /** [name, method, headers, status]: none of these may end the session. */
  const attempts: Array<[string, string, (origin: string) => Record<string, string>, number]> = [
    ['cross-site form POST (Origin of another site)', 'POST', () => ({ origin: 'http://evil.example', 'content-type': 'application/x-www-form-urlencoded' }), 403],
    ['Origin: null (sandboxed iframe, data: URL)', 'POST', () => ({ origin: 'null' }), 403],
    ['Sec-Fetch-Site: cross-site without Origin', 'POST', () => ({ 'sec-fetch-site': 'cross-site' }), 403],
    ['Sec-Fetch-Site: same-site (a sibling subdomain)', 'POST', () => ({ 'sec-fetch-site': 'same-site' }), 403],
    ['Sec-Fetch-Site: none (typed in the address bar)', 'POST', () => ({ 'sec-fetch-site': 'none' }), 403],
    ['neither Origin nor Sec-Fetch-Site', 'POST', () => ({}), 403],
    ['only a same-origin Referer', 'POST', (origin) => ({ referer: `${origin}/` }), 403],
    ['the gateway origin on another port', 'POST', (origin) => ({ origin: origin.replace(/:\d+$/, ':1') }), 403],
    ['the gateway origin as a prefix of another host', 'POST', (origin) => ({ origin: `${origin}.evil.example` }), 403],
    ['the gateway origin with a path', 'POST', (origin) => ({ origin: `${origin}/` }), 403],
    ['a foreign Origin next to Sec-Fetch-Site: same-origin', 'POST', () => ({ origin: 'http://evil.example', 'sec-fetch-site': 'same-origin' }), 403],
    ['GET (an <img> or link)', 'GET', () => ({}), 405],
    ['HEAD', 'HEAD', () => ({}), 405],
    ['PUT', 'PUT', (origin) => ({ origin }), 405],
    ['DELETE', 'DELETE', (origin) => ({ origin }), 405],
  ];

  it.each(attempts.map(([name, method, headers, status]) => [name, status, method, headers] as const))('%s → %i, still signed in', async (_name, status, method, headers) => {
    const browser = await signedIn('viewer');
    await stack.orthanc.clearSeenRequests();
    const response = await browser.request(`${gatewayUrl}/auth/logout`, { method, headers: headers(stack.publicUrl) });
    expect(response.status).toBe(status);
    expect(response.headers.get('location')).toBeNull();
    expect((await browser.request(`${gatewayUrl}/auth/me`, { headers: json })).status).toBe(200);
    await expectOrthancSawNothing(stack.orthanc);
    await expectGatewayAlive(gatewayUrl);
  });

  it('control: a same-origin POST signs out (Origin, or Sec-Fetch-Site: same-origin)', async () => {
    for (const headers of [{ origin: stack.publicUrl }, { 'sec-fetch-site': 'same-origin' }] as Array<Record<string, string>>) {
      const browser = await signedIn('viewer');
      const response = await browser.request(`${gatewayUrl}/auth/logout`, { method: 'POST', headers });
      expect(response.status).toBe(302);
      expect((await browser.request(`${gatewayUrl}/auth/me`, { headers: json })).status).toBe(401);
    }
  });
});

describe('cross-site state changes riding on the session cookie', () => {
  let admin: Browser;

  beforeAll(async () => {
    admin = await signedIn('admin');
  });

  const stow = () => {
    const { body, contentType } = stowBody(makeSeries({ modality: 'CT', patientName: 'Csrf^Upload', patientId: 'P-CSRF', instances: 1, rows: 16, columns: 16 }).files);
    return { body, headers: { 'content-type': contentType } };
  };

  /** [name, method, path, body, extra headers] — every one 403 before Orthanc sees it. */
  const requests: Array<[string, string, string, () => { body?: string | Buffer; headers?: Record<string, string> }, Record<string, string>]> = [
    ['STOW upload with a foreign Origin', 'POST', '/pacs/dicom-web/studies', stow, { origin: 'http://evil.example' }],
    ['STOW upload with Sec-Fetch-Site: cross-site', 'POST', '/pacs/dicom-web/studies', stow, { 'sec-fetch-site': 'cross-site' }],
    ['STOW upload with neither header (old browser, plugin)', 'POST', '/pacs/dicom-web/studies', stow, {}],
    ['admin DELETE with a foreign Origin', 'DELETE', '/pacs-admin/patients/0946fcb6-cf12c8a8-2d3e5b0c-a2c7f5c9-bd3dc6ab', () => ({}), { origin: 'http://evil.example' }],
    ['admin POST /tools/find with Origin: null', 'POST', '/pacs-admin/tools/find', () => ({ body: '{"Level":"Study","Query":{}}', headers: { 'content-type': 'text/plain' } }), { origin: 'null' }],
    ['admin PUT with Sec-Fetch-Site: same-site', 'PUT', '/pacs-admin/tools/metrics', () => ({ body: '0', headers: { 'content-type': 'text/plain' } }), { 'sec-fetch-site': 'same-site' }],
  ];

  it.each(requests)('%s → 403, never forwarded', async (_name, method, path, makeBody, headers) => {
    await stack.orthanc.clearSeenRequests();
    const { body, headers: bodyHeaders } = makeBody();
    const response = await admin.request(`${gatewayUrl}${path}`, { method, body, headers: { ...json, ...bodyHeaders, ...headers } });
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ error: 'forbidden' });
    await expectOrthancSawNothing(stack.orthanc);
    await expectGatewayAlive(gatewayUrl);
  });

  it('control: the same admin POST from the gateway origin is forwarded', async () => {
    const response = await admin.request(`${gatewayUrl}/pacs-admin/tools/find`, { method: 'POST', body: '{"Level":"Study","Query":{}}', headers: { ...json, 'content-type': 'application/json', origin: stack.publicUrl } });
    expect(response.status).toBe(200);
  });

  it('CORS never lets another origin read with the cookie', async () => {
    const response = await admin.request(`${gatewayUrl}/pacs/dicom-web/studies`, { headers: { ...json, origin: 'http://evil.example' } });
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    expect(response.headers.get('access-control-allow-credentials')).toBeNull();
    const preflight = await rawRequest(gatewayUrl, '/pacs/dicom-web/studies', {
      method: 'OPTIONS',
      headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    expect(preflight.status).toBe(403);
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('forged back-channel logout', () => {
  let victim: Browser;
  let idToken: string;
  let accessToken: string;

  beforeAll(async () => {
    victim = await signedIn('viewer');
    ({ id_token: idToken = '', access_token: accessToken } = await gatewayClientTokens(stack, 'viewer'));
  });

  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const event = { 'http://schemas.openid.net/event/backchannel-logout': {} };

  /** [name, content type, body, status]. */
  const forgeries: Array<[string, string, () => string, number]> = [
    ['alg none logout token', 'application/x-www-form-urlencoded', () => `logout_token=${b64({ alg: 'none' })}.${b64({ iss: stack.idp.issuer, aud: 'orthanc-gateway', iat: Math.floor(Date.now() / 1000), jti: 'x', events: event, sub: 'viewer' })}.`, 400],
    // Genuine tokens of the IdP for the gateway's client, naming the victim: their typ is JWT, not logout+jwt.
    ['the real IdP ID token as logout token', 'application/x-www-form-urlencoded', () => `logout_token=${idToken}`, 400],
    ['the real IdP access token as logout token', 'application/x-www-form-urlencoded', () => `logout_token=${accessToken}`, 400],
    ['garbage', 'application/x-www-form-urlencoded', () => 'logout_token=not.a.jwt', 400],
    ['no logout_token', 'application/x-www-form-urlencoded', () => 'token=x', 400],
    ['a JSON body', 'application/json', () => JSON.stringify({ logout_token: idToken }), 400],
    ['a 20 KB form body', 'application/x-www-form-urlencoded', () => `logout_token=${'a'.repeat(20_000)}`, 413],
  ];

  it.each(forgeries.map(([name, type, body, status]) => [name, status, type, body] as const))('%s → %i, the session survives', async (_name, status, type, body) => {
    await stack.orthanc.clearSeenRequests();
    const response = await fetch(`${gatewayUrl}/auth/backchannel-logout`, { method: 'POST', headers: { 'content-type': type }, body: body() });
    expect(response.status).toBe(status);
    expect((await victim.request(`${gatewayUrl}/auth/me`, { headers: json })).status).toBe(200);
    await expectOrthancSawNothing(stack.orthanc);
    await expectGatewayAlive(gatewayUrl);
  });
});
