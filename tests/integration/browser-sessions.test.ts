import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { makeSeries } from '../support/dicom.js';
import { stowBody } from '../support/dicomweb.js';
import { Browser, left } from '../support/http-browser.js';
import { signOutAtIdp } from '../support/idp-sign-out.js';
import { rawRequest } from '../support/raw-http.js';
import { gatewayClientTokens, signIn, startSessionStack, type SessionStack, signedInBrowser } from '../support/session-stack.js';
import { STAND_IN_VIEWER_PAGE as VIEWER_PAGE, standInViewer } from '../support/stand-in-viewer.js';

/**
 * Browser sign-in over real HTTP: the gateway's code + PKCE flow through the dev IdP's login form,
 * sessions in a real Redis, Orthanc behind. A cookie jar plays the browser.
 */
let stack: SessionStack;
let gatewayUrl: string;

const json = { accept: 'application/json' };
/** What a browser's page load sends (fetch() would replace Sec-Fetch-Mode with "cors"). */
const navigation = { accept: 'text/html,application/xhtml+xml', 'sec-fetch-mode': 'navigate' };

const signedIn = (username: string) => signedInBrowser(gatewayUrl, username);

function sessionCookie(browser: Browser): string | undefined {
  return browser.cookie('gw-session');
}

async function stow(browser: Browser, headers: Record<string, string>) {
  const upload = makeSeries({ modality: 'CT', patientName: 'Session^Upload', patientId: 'P-SES', instances: 1, rows: 16, columns: 16 });
  const { body, contentType } = stowBody(upload.files);
  return browser.request(`${gatewayUrl}/pacs/dicom-web/studies`, { method: 'POST', headers: { 'content-type': contentType, ...headers }, body });
}

beforeAll(async () => {
  stack = await startSessionStack({ env: { OHIF_DIST: standInViewer() } });
  gatewayUrl = stack.gateways[0]!.url;
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

it('reports Redis in /readyz', async () => {
  const response = await fetch(`${gatewayUrl}/readyz`);
  expect(await response.json()).toMatchObject({ status: 'ready', checks: { redis: { ok: true } } });
});

describe('sign-in', () => {
  it('signs a viewer in and returns to the requested page with a session', async () => {
    const browser = new Browser();
    const step = await signIn(browser, gatewayUrl, 'viewer', '/auth/me');
    if (step.kind !== 'page') throw new Error('expected a page');
    expect([step.url, step.status]).toEqual([`${gatewayUrl}/auth/me`, 200]);
    expect(step.html).toContain('"via":"session"');
    const me = await browser.request(`${gatewayUrl}/auth/me`, { headers: json });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ username: 'viewer', roles: expect.arrayContaining(['pacs-viewer']), via: 'session' });
  });

  it('sets an HttpOnly, SameSite=Lax session cookie that carries no token', async () => {
    const browser = new Browser();
    const login = await browser.request(`${gatewayUrl}/auth/login?returnTo=/`);
    const setCookie = login.headers.getSetCookie().find((line) => line.startsWith('gw-session='));
    expect(setCookie).toMatch(/; Path=\//);
    expect(setCookie).toMatch(/; HttpOnly/);
    expect(setCookie).toMatch(/; SameSite=Lax/);
    await signIn(browser, gatewayUrl, 'viewer');
    const value = decodeURIComponent(sessionCookie(browser) ?? '');
    expect(value).toMatch(/^s:[\w-]+\.[\w+/=-]+$/); // signed session id only
    expect(value.length).toBeLessThan(120);
  });

  it('issues a new session id at sign-in (no fixation)', async () => {
    const browser = new Browser();
    const attempt = await browser.navigate(`${gatewayUrl}/auth/login?returnTo=/auth/me`, {}, [stack.idp.issuer]);
    expect(attempt.kind).toBe('left');
    const before = sessionCookie(browser);
    expect(before).toBeDefined();
    await signIn(browser, gatewayUrl, 'viewer');
    const after = sessionCookie(browser);
    expect(after).toBeDefined();
    expect(after).not.toBe(before);

    const planted = await fetch(`${gatewayUrl}/auth/me`, { headers: { cookie: `gw-session=${before}`, ...json } });
    expect(planted.status).toBe(401);
  });

  it.each([
    ['//evil.example/x'],
    ['https://evil.example/'],
    ['/\\evil.example'],
    ['/%5Cevil.example'],
    ['http:evil.example'],
    ['javascript:alert(1)'],
  ])('refuses the open redirect returnTo=%s and lands on /', async (returnTo) => {
    const browser = new Browser();
    const login = new URL(`/auth/login?returnTo=${encodeURIComponent(returnTo)}`, gatewayUrl);
    const callback = left(await browser.login(login, 'viewer', 'viewer-dev-password', [`${gatewayUrl}/auth/callback`]));
    const done = await browser.request(callback.href);
    expect(done.status).toBe(302);
    const location = done.headers.get('location') ?? '';
    expect(location.startsWith('/')).toBe(true);
    expect(location.startsWith('//') || location.startsWith('/\\')).toBe(false);
    expect(new URL(location, gatewayUrl).origin).toBe(gatewayUrl);
  });

  it('refuses a replayed callback (state is single use)', async () => {
    const browser = new Browser();
    const login = new URL('/auth/login?returnTo=/auth/me', gatewayUrl);
    const callback = left(await browser.login(login, 'viewer', 'viewer-dev-password', [`${gatewayUrl}/auth/callback`]));
    expect((await browser.request(callback.href)).status).toBe(302);
    const replay = await browser.request(callback.href);
    expect(replay.status).toBe(400);
    expect(await replay.text()).toContain('Sign-in expired');
  });

  it.each([
    ['access_denied', 403, 'did not allow this sign-in'],
    ['login_required', 400, 'needs you to sign in'],
    ['temporarily_unavailable', 503, 'temporarily unavailable'],
    ['<b>made-up</b>', 400, 'reported an error'],
  ])('answers the IdP error %s with a fixed page that quotes nothing from the callback URL, and creates no session', async (code, status, text) => {
    const planted = 'Your account is locked, call +1 555 0100';
    const query = new URLSearchParams({ error: code, error_description: `<script>alert(1)</script> ${planted}`, error_uri: 'https://evil.example/' });
    const response = await fetch(`${gatewayUrl}/auth/callback?${query}`);
    expect(response.status).toBe(status);
    const html = await response.text();
    expect(html).toContain(text);
    for (const echoed of ['script', 'alert', planted, 'evil.example', 'made-up']) expect(html).not.toContain(echoed);
    expect(response.headers.getSetCookie()).toEqual([]);
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
  });
});

describe('a session grants what the roles allow', () => {
  it('lets a viewer read DICOMweb but not the admin API', async () => {
    const browser = await signedIn('viewer');
    expect((await browser.request(`${gatewayUrl}/pacs/dicom-web/studies`, { headers: json })).status).toBe(200);
    expect((await browser.request(`${gatewayUrl}/pacs-admin/system`, { headers: json })).status).toBe(403);
  });

  describe('a signed-in viewer at /pacs-admin (admin role only)', () => {
    let viewer: Browser;
    let bearer: string;
    beforeAll(async () => {
      viewer = await signedIn('viewer');
      ({ access_token: bearer } = await gatewayClientTokens(stack, 'viewer'));
    });
    const cookie = () => `gw-session=${sessionCookie(viewer)}`;

    // The same rule as sign-in redirect vs 401: Sec-Fetch-Mode when sent, else Accept.
    it.each([
      ['a page load (Sec-Fetch-Mode: navigate)', navigation],
      ['a page load of a browser without Sec-Fetch-* (Accept: text/html)', { accept: 'text/html' }],
    ])('gets a "no access" page with a sign-out button for %s', async (_name, headers: Record<string, string>) => {
      await stack.orthanc.clearSeenRequests();
      const response = await rawRequest(gatewayUrl, '/pacs-admin/app/explorer.html', { headers: { ...headers, cookie: cookie() } });
      expect(response.status).toBe(403);
      expect(response.headers['content-type']).toMatch(/^text\/html/);
      expect(response.headers['content-security-policy']).toContain("default-src 'none'");
      expect(response.body).toContain('<h1>No access to Orthanc administration</h1>');
      expect(response.body).toContain('signed in as viewer');
      expect(response.body).toContain('<form method="post" action="/auth/logout">');
      expect(await stack.orthanc.seenRequests()).toEqual([]);
    });

    it.each([
      ['fetch() asking for HTML (Sec-Fetch-Mode: cors)', { accept: 'text/html', 'sec-fetch-mode': 'cors' }],
      ['an API call', { accept: 'application/json' }],
    ])('gets the JSON 403 for %s', async (_name, headers: Record<string, string>) => {
      const response = await rawRequest(gatewayUrl, '/pacs-admin/system', { headers: { ...headers, cookie: cookie() } });
      expect(response.status).toBe(403);
      expect(JSON.parse(response.body)).toMatchObject({ error: 'forbidden', requestId: expect.any(String) });
    });

    it('gets the JSON 403 with a Bearer token, even on a page load', async () => {
      const response = await rawRequest(gatewayUrl, '/pacs-admin/app/explorer.html', { headers: { ...navigation, authorization: `Bearer ${bearer}` } });
      expect(response.status).toBe(403);
      expect(JSON.parse(response.body)).toMatchObject({ error: 'forbidden' });
    });
  });

  it('lets an admin use /pacs-admin', async () => {
    const browser = await signedIn('admin');
    const system = await browser.request(`${gatewayUrl}/pacs-admin/system`, { headers: json });
    expect(system.status).toBe(200);
  });

  it('sends page loads without a session to sign-in, and API calls get 401 JSON', async () => {
    const page = await rawRequest(gatewayUrl, '/pacs/dicom-web/studies?PatientID=x', { headers: navigation });
    expect(page.status).toBe(302);
    expect(page.headers['location']).toBe(`/auth/login?returnTo=${encodeURIComponent('/pacs/dicom-web/studies?PatientID=x')}`);
    const api = await fetch(`${gatewayUrl}/pacs/dicom-web/studies`, { headers: json, redirect: 'manual' });
    expect(api.status).toBe(401);
    expect(api.headers.get('www-authenticate')).toBe('Bearer realm="orthanc-oidc-gateway"');
  });
});

describe('viewer pages (VIEWER_ACCESS=session)', () => {
  const withSession = (browser: Browser) => ({ ...navigation, cookie: `gw-session=${sessionCookie(browser)}` });
  let viewer: Browser;
  let norole: Browser;
  beforeAll(async () => {
    [viewer, norole] = await Promise.all([signedIn('viewer'), signedIn('norole')]);
  });

  // Every spelling of a path that reaches one of the viewer's HTML documents (the files themselves, or
  // index.html as the history fallback): never served without a session. Sent byte for byte.
  const pageTargets = [
    '/',
    '/index.html',
    '/index.html?x',
    '/INDEX.HTML',
    '/Index.Html',
    '/%69ndex.html',
    '/index.%68tml',
    '/silent-refresh.html',
    '/viewer?StudyInstanceUIDs=1.2.3',
    '/some/deep/link',
  ];

  it.each(pageTargets)('sends an anonymous page load of %s to sign-in', async (target) => {
    const response = await rawRequest(gatewayUrl, target, { headers: navigation });
    expect(response.status).toBe(302);
    expect(response.headers['location']).toBe(`/auth/login?returnTo=${encodeURIComponent(target)}`);
    expect(response.body).not.toContain(VIEWER_PAGE);
  });

  it.each(['/index.html', '/%69ndex.html', '/silent-refresh.html'])('answers an anonymous non-navigation request of %s with 401 JSON, not the page', async (target) => {
    const response = await rawRequest(gatewayUrl, target, { headers: { accept: '*/*', 'sec-fetch-mode': 'cors' } });
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toMatch(/^Bearer /);
    expect(JSON.parse(response.body)).toMatchObject({ error: 'unauthenticated', requestId: expect.any(String) });
  });

  it.each(['//index.html', '/./index.html', '/x/../index.html', '/index%2ehtml'])('refuses the unclean path %s before the viewer', async (target) => {
    const response = await rawRequest(gatewayUrl, target, { headers: navigation });
    expect(response.status).toBe(400);
    expect(response.body).not.toContain(VIEWER_PAGE);
  });

  it("keeps the viewer's code public (scripts, styles: no patient data)", async () => {
    const response = await rawRequest(gatewayUrl, '/app.js', { headers: { accept: '*/*' } });
    expect(response.status).toBe(200);
    expect(response.body).toContain('viewer code');
  });

  it.each(pageTargets)('serves %s to a signed-in viewer', async (target) => {
    const response = await rawRequest(gatewayUrl, target, { headers: withSession(viewer) });
    expect(response.status).toBe(200);
    expect(response.body).toContain(VIEWER_PAGE);
  });

  it.each(['/', '/index.html', '/%69ndex.html', '/silent-refresh.html'])('shows %s to an account without a PACS role as a no-access page with a sign-out button', async (target) => {
    const response = await rawRequest(gatewayUrl, target, { headers: withSession(norole) });
    expect(response.status).toBe(403);
    expect(response.headers['content-type']).toMatch(/^text\/html/);
    expect(response.body).toContain('No access to the image archive');
    expect(response.body).toContain('signed in as norole');
    expect(response.body).toContain('action="/auth/logout"');
    expect(response.body).not.toContain(VIEWER_PAGE);
  });
});

describe('CSRF', () => {
  it('accepts a same-origin upload by an uploader', async () => {
    const browser = await signedIn('uploader');
    expect((await stow(browser, { origin: gatewayUrl })).status).toBe(200);
    expect((await stow(browser, { 'sec-fetch-site': 'same-origin' })).status).toBe(200);
  });

  it.each([
    ['a foreign Origin', { origin: 'http://evil.example' }],
    ['Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site' }],
    ['neither Origin nor Sec-Fetch-Site', {}],
  ])('refuses a cookie-authenticated upload with %s, before Orthanc sees it', async (_name, headers: Record<string, string>) => {
    const browser = await signedIn('uploader');
    await stack.orthanc.clearSeenRequests();
    const response = await stow(browser, headers);
    expect(response.status).toBe(403);
    expect(await stack.orthanc.seenRequests()).toEqual([]);
  });
});

describe('logout', () => {
  it('ends the session and sends the browser to the IdP end-session endpoint', async () => {
    const browser = await signedIn('viewer');
    const response = await browser.request(`${gatewayUrl}/auth/logout`, { method: 'POST', headers: { origin: gatewayUrl } });
    expect(response.status).toBe(302);
    const location = new URL(response.headers.get('location') ?? '');
    expect(location.href.startsWith(`${stack.idp.issuer}/protocol/openid-connect/logout`)).toBe(true);
    expect(location.searchParams.get('id_token_hint')).toBeTruthy();
    expect(location.searchParams.get('post_logout_redirect_uri')).toBe(`${gatewayUrl}/auth/signed-out`);
    expect((await browser.request(`${gatewayUrl}/pacs/dicom-web/studies`, { headers: json })).status).toBe(401);
  });

  it('GET /auth/signed-out answers the "Signed out" page: no sign-in started, no cookie set', async () => {
    const check = async (response: Response) => {
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
      expect(response.headers.get('set-cookie')).toBeNull();
      expect(response.headers.get('cache-control')).toBe('no-store');
      const html = await response.text();
      expect(html).toContain('<h1>Signed out</h1>');
      expect(html).toContain('href="/auth/login">Sign in again</a>');
    };
    await check(await fetch(`${gatewayUrl}/auth/signed-out`, { redirect: 'manual' }));
    // Nor does it touch a session that is still there (another tab signed in again).
    const browser = await signedIn('viewer');
    await check(await browser.request(`${gatewayUrl}/auth/signed-out`));
    expect((await browser.request(`${gatewayUrl}/pacs/dicom-web/studies`, { headers: json })).status).toBe(200);
  });

  it('cannot be triggered cross-site or with GET', async () => {
    const browser = await signedIn('viewer');
    expect((await browser.request(`${gatewayUrl}/auth/logout`, { method: 'POST', headers: { origin: 'http://evil.example' } })).status).toBe(403);
    expect((await browser.request(`${gatewayUrl}/auth/logout`)).status).toBe(405);
    expect((await browser.request(`${gatewayUrl}/pacs/dicom-web/studies`, { headers: json })).status).toBe(200);
  });

  it('ends the gateway session when the IdP signs the user out over the back channel', async () => {
    const browser = await signedIn('viewer');
    expect((await browser.request(`${gatewayUrl}/pacs/dicom-web/studies`, { headers: json })).status).toBe(200);
    await signOutAtIdp(browser, stack.idp.issuer);
    expect((await browser.request(`${gatewayUrl}/pacs/dicom-web/studies`, { headers: json })).status).toBe(401);
  });

  it('refuses a forged back-channel logout token with 400', async () => {
    const response = await fetch(`${gatewayUrl}/auth/backchannel-logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ logout_token: 'eyJhbGciOiJub25lIn0.eyJzaWQiOiJ4In0.' }),
    });
    expect(response.status).toBe(400);
  });
});

describe('Redis unavailable', () => {
  it('answers session requests 503 fast, keeps Bearer working, and recovers when Redis returns', async () => {
    const browser = await signedIn('viewer');
    const { access_token: bearer } = await gatewayClientTokens(stack, 'viewer');
    await stack.redis.stop();
    try {
      const started = Date.now();
      const response = await browser.request(`${gatewayUrl}/pacs/dicom-web/studies`, { headers: json });
      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({ error: 'service_unavailable' });
      expect(Date.now() - started).toBeLessThan(1000);

      const withBearer = await fetch(`${gatewayUrl}/pacs/dicom-web/studies`, { headers: { authorization: `Bearer ${bearer}` } });
      expect(withBearer.status).toBe(200);
    } finally {
      await stack.redis.restart();
    }
    // The restarted Redis is empty: the old session is gone, a new sign-in works again.
    let fresh: Browser | undefined;
    for (let attempt = 0; attempt < 30 && !fresh; attempt++) {
      fresh = await signedIn('viewer').catch(async () => {
        await new Promise((resolve) => setTimeout(resolve, 200));
        return undefined;
      });
    }
    expect(fresh).toBeDefined();
    expect((await fresh!.request(`${gatewayUrl}/pacs/dicom-web/studies`, { headers: json })).status).toBe(200);
  }, 30_000);
});

describe('same-origin checks for forms', () => {
  it('accepts a form POST whose Origin is "null" when Sec-Fetch-Site says same-origin, refuses it otherwise', async () => {
    const browser = await signedIn('viewer');
    const crossSite = await browser.request(`${gatewayUrl}/auth/logout`, { method: 'POST', headers: { origin: 'null' } });
    expect(crossSite.status).toBe(403);
    const nullOrigin = { origin: 'null', 'sec-fetch-site': 'same-origin', cookie: `gw-session=${browser.cookie('gw-session')}` };
    const response = await rawRequest(gatewayUrl, '/auth/logout', { method: 'POST', headers: nullOrigin });
    expect(response.status).toBe(302);
    expect((await browser.request(`${gatewayUrl}/auth/me`, { headers: json })).status).toBe(401);
  });
});
