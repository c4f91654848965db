/**
 * The development IdP over real HTTP: discovery, authorization code + PKCE logins driven like a
 * browser (manual redirects, a cookie jar, the login form), openid-client 6 as the confidential
 * relying party, Keycloak-shaped tokens checked with jose, refresh, CORS for the public OHIF client,
 * key rotation, RP-initiated + back-channel logout.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import * as oidc from 'openid-client';
import { startDevIdp, type DevIdp } from '../../src/devidp/server.js';
import { Browser, left } from '../support/http-browser.js';
import { DEV_PASSWORDS as PASSWORDS } from '../support/session-stack.js';

const ROLES: Record<string, string[]> = {
  admin: ['pacs-admin', 'pacs-uploader', 'pacs-viewer'],
  uploader: ['pacs-uploader', 'pacs-viewer'],
  viewer: ['pacs-viewer'],
  norole: [],
  'viewer-a': ['pacs-viewer'],
  'viewer-b': ['pacs-viewer'],
};
/** The realm's group membership mapper: group names (full.path "false"); no groups, no claim. */
const GROUPS: Record<string, string[]> = { 'viewer-a': ['Hospital A'], 'viewer-b': ['Hospital B'] };

// ---- back-channel logout receiver (stands in for the gateway) ---------------------------------------
interface Receiver {
  server: Server;
  origin: string;
  logoutTokens: string[];
}

async function startReceiver(): Promise<Receiver> {
  const logoutTokens: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/auth/backchannel-logout') {
        const token = new URLSearchParams(body).get('logout_token');
        if (token) logoutTokens.push(token);
      }
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, logoutTokens };
}

// ---- the suite -------------------------------------------------------------------------------------
describe('development IdP', () => {
  let idp: DevIdp;
  let receiver: Receiver;
  let gateway: oidc.Configuration;
  let jwks: ReturnType<typeof createRemoteJWKSet>;
  let discovery: Record<string, unknown>;
  let redirectUri: string;

  const freshJwks = () => createRemoteJWKSet(new URL(String(discovery['jwks_uri'])));
  const realmUser = (username: string) => {
    const user = idp.realm.users.find((u) => u.username === username);
    if (!user) throw new Error(`no user ${username}`);
    return user;
  };

  /** Authorization code + PKCE with the confidential gateway client, through the login form. */
  async function gatewayLogin(username: string, browser = new Browser()) {
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(gateway, {
      redirect_uri: redirectUri,
      scope: 'openid profile email',
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    const callback = left(await browser.login(url, username, PASSWORDS[username] ?? '', [redirectUri]));
    const tokens = await oidc.authorizationCodeGrant(gateway, callback, {
      pkceCodeVerifier: codeVerifier,
      expectedState: state,
      expectedNonce: nonce,
    });
    return { tokens, browser };
  }

  beforeAll(async () => {
    receiver = await startReceiver();
    // The realm export names http://localhost:8080; rebase every client URL onto the receiver.
    idp = await startDevIdp({ appOrigin: receiver.origin });
    redirectUri = `${receiver.origin}/auth/callback`;
    const secret = idp.realm.clients.find((c) => c.clientId === 'orthanc-gateway')?.secret;
    gateway = await oidc.discovery(new URL(idp.issuer), 'orthanc-gateway', secret, undefined, {
      execute: [oidc.allowInsecureRequests],
    });
    discovery = (await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    jwks = freshJwks();
  });

  afterAll(async () => {
    await idp?.stop();
    await new Promise((resolve) => receiver?.server.close(resolve));
  });

  it('serves Keycloak-like discovery under /realms/orthanc', () => {
    expect(idp.issuer).toBe(`http://127.0.0.1:${idp.port}/realms/orthanc`);
    expect(discovery['issuer']).toBe(idp.issuer);
    for (const key of ['authorization_endpoint', 'token_endpoint', 'jwks_uri', 'end_session_endpoint', 'userinfo_endpoint', 'revocation_endpoint']) {
      expect(String(discovery[key])).toMatch(new RegExp(`^${idp.issuer}/protocol/openid-connect/`));
    }
    expect(discovery['grant_types_supported']).not.toContain('password');
    expect(discovery['grant_types_supported']).not.toContain('implicit');
    expect(discovery['response_types_supported']).toEqual(['code']);
    expect(discovery['code_challenge_methods_supported']).toEqual(['S256']);
    expect(discovery['backchannel_logout_supported']).toBe(true);
    expect(discovery['backchannel_logout_session_supported']).toBe(true);
  });

  it.each(Object.keys(ROLES))('logs %s in with code + PKCE and issues Keycloak-shaped tokens', async (username) => {
    const { tokens } = await gatewayLogin(username);
    const user = realmUser(username);

    const { payload: at, protectedHeader } = await jwtVerify(tokens.access_token, jwks, {
      issuer: idp.issuer,
      audience: 'orthanc-gateway',
      algorithms: ['RS256'],
    });
    expect(protectedHeader.kid).toBe(idp.currentKid);
    expect(protectedHeader.typ).toBe('JWT');
    expect(at.typ).toBe('Bearer');
    expect(at.sub).toBe(user.id);
    expect(at.azp).toBe('orthanc-gateway');
    expect(typeof at.sid).toBe('string');
    expect(String(at.scope).split(' ')).toEqual(expect.arrayContaining(['openid', 'profile', 'email']));
    expect(at.preferred_username).toBe(username);
    expect(at.email).toBe(user.email);
    expect(at.name).toBe(`${user.firstName} ${user.lastName}`);
    expect(at.given_name).toBe(user.firstName);
    expect(at.family_name).toBe(user.lastName);
    expect(at.client_id).toBeUndefined();
    expect((at.exp ?? 0) - (at.iat ?? 0)).toBe(300);
    const roles = (at.realm_access as { roles?: string[] } | undefined)?.roles ?? [];
    expect([...roles].sort()).toEqual([...(ROLES[username] ?? [])].sort());
    if (username === 'norole') expect(at.realm_access).toBeUndefined(); // as Keycloak: no roles, no claim
    expect(at['groups']).toEqual(GROUPS[username]);

    const { payload: id } = await jwtVerify(tokens.id_token ?? '', jwks, { issuer: idp.issuer, audience: 'orthanc-gateway' });
    expect(id.typ).toBe('ID');
    expect(id.sub).toBe(user.id);
    expect(id.azp).toBe('orthanc-gateway');
    expect(id.sid).toBe(at.sid);
    expect(id.preferred_username).toBe(username);
    expect(id.email).toBe(user.email);
    expect(id['groups']).toBeUndefined(); // the mapper puts groups into access tokens only
    expect(tokens.refresh_token).toEqual(expect.any(String));
    expect(tokens.expires_in).toBe(300);
  });

  it('refreshes tokens', async () => {
    const { tokens } = await gatewayLogin('viewer');
    const refreshed = await oidc.refreshTokenGrant(gateway, tokens.refresh_token ?? '');
    const { payload } = await jwtVerify(refreshed.access_token, jwks, { issuer: idp.issuer, audience: 'orthanc-gateway' });
    const { payload: before } = await jwtVerify(tokens.access_token, jwks, { issuer: idp.issuer, audience: 'orthanc-gateway' });
    expect(payload.sub).toBe(before.sub);
    expect(payload.sid).toBe(before.sid);
    expect(payload.typ).toBe('Bearer');
    expect(payload.jti).not.toBe(before.jti);
  });

  it('shows the login form again, with an error, after a wrong password', async () => {
    const browser = new Browser();
    const url = oidc.buildAuthorizationUrl(gateway, {
      redirect_uri: redirectUri,
      scope: 'openid',
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
      state: oidc.randomState(),
    });
    const step = await browser.login(url, 'viewer', 'not-the-password', [redirectUri]);
    expect(step.kind).toBe('page');
    if (step.kind !== 'page') return;
    expect(step.status).toBe(200);
    expect(step.html).toContain('Invalid username or password.');
    expect(step.html).toContain('id="kc-form-login"');
    expect(step.html).toContain('value="viewer"');
  });

  it('escapes what it echoes into the login page', async () => {
    const url = oidc.buildAuthorizationUrl(gateway, {
      redirect_uri: redirectUri,
      scope: 'openid',
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
      login_hint: '"><script>alert(1)</script>',
    });
    const step = await new Browser().navigate(url.href, {}, [redirectUri]);
    expect(step.kind === 'page' && step.html).not.toContain('<script>alert(1)</script>');
    expect(step.kind === 'page' && step.html).toContain('&#34;&#62;&#60;script&#62;');
  });

  it('requires PKCE (S256) for the confidential client', async () => {
    const withoutPkce = oidc.buildAuthorizationUrl(gateway, { redirect_uri: redirectUri, scope: 'openid', state: 'x' });
    const error = left(await new Browser().navigate(withoutPkce.href, {}, [redirectUri]));
    expect(error.searchParams.get('error')).toBe('invalid_request');
    expect(error.searchParams.get('error_description')).toMatch(/PKCE/);

    const plain = oidc.buildAuthorizationUrl(gateway, {
      redirect_uri: redirectUri,
      scope: 'openid',
      code_challenge: oidc.randomPKCECodeVerifier(),
      code_challenge_method: 'plain',
    });
    const plainError = left(await new Browser().navigate(plain.href, {}, [redirectUri]));
    expect(plainError.searchParams.get('error')).toBe('invalid_request');
  });

  it('rejects an unregistered redirect URI without redirecting to it', async () => {
    const url = oidc.buildAuthorizationUrl(gateway, {
      redirect_uri: `${receiver.origin}/auth/callback/../evil`,
      scope: 'openid',
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const step = await new Browser().navigate(url.href, {}, [receiver.origin]);
    expect(step.kind).toBe('page');
    expect(step.kind === 'page' && step.status).toBe(400);
  });

  it('has no password grant', async () => {
    const secret = idp.realm.clients.find((c) => c.clientId === 'orthanc-gateway')?.secret ?? '';
    const response = await fetch(String(discovery['token_endpoint']), {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`orthanc-gateway:${secret}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'password', username: 'admin', password: PASSWORDS['admin'] ?? '' }),
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toBe('unsupported_grant_type');
  });

  describe('public client ohif-viewer', () => {
    const ohifRedirect = () => `${receiver.origin}/callback`;

    async function ohifCode(verifier: string, browser = new Browser(), extra: Record<string, string> = {}): Promise<URL> {
      const publicClient = await oidc.discovery(new URL(idp.issuer), 'ohif-viewer', undefined, oidc.None(), {
        execute: [oidc.allowInsecureRequests],
      });
      const url = oidc.buildAuthorizationUrl(publicClient, {
        redirect_uri: ohifRedirect(),
        scope: 'openid profile email',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state: 'ohif-state',
        ...extra,
      });
      return left(await browser.login(url, 'uploader', PASSWORDS['uploader'] ?? '', [ohifRedirect()]));
    }

    /** The token request OHIF's browser makes: no secret, Origin header. */
    const exchange = (code: string, verifier: string, origin: string) =>
      fetch(String(discovery['token_endpoint']), {
        method: 'POST',
        headers: { origin },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          client_id: 'ohif-viewer',
          code,
          code_verifier: verifier,
          redirect_uri: ohifRedirect(),
        }),
      });

    it('logs in with PKCE and no secret; the token endpoint answers CORS for its web origin', async () => {
      const verifier = oidc.randomPKCECodeVerifier();
      const callback = await ohifCode(verifier);
      expect(callback.searchParams.get('state')).toBe('ohif-state');

      const preflight = await fetch(String(discovery['token_endpoint']), {
        method: 'OPTIONS',
        headers: { origin: receiver.origin, 'access-control-request-method': 'POST' },
      });
      expect(preflight.headers.get('access-control-allow-origin')).toBe(receiver.origin);

      const response = await exchange(callback.searchParams.get('code') ?? '', verifier, receiver.origin);
      expect(response.status).toBe(200);
      expect(response.headers.get('access-control-allow-origin')).toBe(receiver.origin);
      const tokens = (await response.json()) as { access_token: string; id_token: string; refresh_token?: string };

      const { payload: at } = await jwtVerify(tokens.access_token, jwks, { issuer: idp.issuer, audience: 'orthanc-gateway' });
      expect(at.typ).toBe('Bearer');
      expect(at.azp).toBe('ohif-viewer');
      expect(at.aud).toBe('orthanc-gateway');
      expect(at['allowed-origins']).toEqual([receiver.origin]);
      expect(typeof at.sid).toBe('string');
      expect((at.realm_access as { roles: string[] }).roles.sort()).toEqual(['pacs-uploader', 'pacs-viewer']);
      const { payload: id } = await jwtVerify(tokens.id_token, jwks, { issuer: idp.issuer, audience: 'ohif-viewer' });
      expect(id.typ).toBe('ID');
      expect(id.sid).toBe(at.sid);
      expect(tokens.refresh_token).toEqual(expect.any(String));

      // oidc-client-ts (OHIF) loads userinfo with the access token, cross-origin.
      const userinfo = await fetch(String(discovery['userinfo_endpoint']), {
        headers: { authorization: `Bearer ${tokens.access_token}`, origin: receiver.origin },
      });
      expect(userinfo.status).toBe(200);
      expect(userinfo.headers.get('access-control-allow-origin')).toBe(receiver.origin);
      expect(await userinfo.json()).toMatchObject({ sub: at.sub, preferred_username: 'uploader', email: at.email });

      // On sign-out OHIF may revoke both tokens (revokeAccessTokenOnSignout), cross-origin and without a secret.
      // Answered as Keycloak 26 answers: 200 with no body and no Content-Type (oidc-client-ts refuses a text/plain one).
      for (const [token, hint] of [[tokens.access_token, 'access_token'], [tokens.refresh_token ?? '', 'refresh_token']]) {
        const revoked = await fetch(String(discovery['revocation_endpoint']), {
          method: 'POST',
          headers: { origin: receiver.origin },
          body: new URLSearchParams({ token: token ?? '', token_type_hint: hint ?? '', client_id: 'ohif-viewer' }),
        });
        expect({ hint, status: revoked.status, contentType: revoked.headers.get('content-type'), body: await revoked.text() }).toEqual({ hint, status: 200, contentType: null, body: '' });
        expect(revoked.headers.get('access-control-allow-origin')).toBe(receiver.origin);
      }
      const refresh = await fetch(String(discovery['token_endpoint']), {
        method: 'POST',
        headers: { origin: receiver.origin },
        body: new URLSearchParams({ grant_type: 'refresh_token', client_id: 'ohif-viewer', refresh_token: tokens.refresh_token ?? '' }),
      });
      expect(refresh.status).toBe(400);
      expect(((await refresh.json()) as { error: string }).error).toBe('invalid_grant');
    });

    it('refuses the token request from a foreign origin', async () => {
      const verifier = oidc.randomPKCECodeVerifier();
      const callback = await ohifCode(verifier);
      const response = await exchange(callback.searchParams.get('code') ?? '', verifier, 'http://evil.example');
      expect(response.status).toBe(400);
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
    });

    it('renews silently (prompt=none) while the IdP session lasts, as OHIF\'s silent-refresh.html does', async () => {
      const browser = new Browser();
      await ohifCode(oidc.randomPKCECodeVerifier(), browser);
      const verifier = oidc.randomPKCECodeVerifier();
      const silent = await ohifCode(verifier, browser, { prompt: 'none' });
      expect(silent.searchParams.get('error')).toBeNull();
      const response = await exchange(silent.searchParams.get('code') ?? '', verifier, receiver.origin);
      expect(response.status).toBe(200);

      const stranger = await ohifCode(oidc.randomPKCECodeVerifier(), new Browser(), { prompt: 'none' });
      expect(stranger.searchParams.get('error')).toBe('login_required');
    });

    it('requires PKCE', async () => {
      const publicClient = await oidc.discovery(new URL(idp.issuer), 'ohif-viewer', undefined, oidc.None(), {
        execute: [oidc.allowInsecureRequests],
      });
      const url = oidc.buildAuthorizationUrl(publicClient, { redirect_uri: ohifRedirect(), scope: 'openid' });
      const error = left(await new Browser().navigate(url.href, {}, [ohifRedirect()]));
      expect(error.searchParams.get('error')).toBe('invalid_request');
    });
  });

  it('userinfo rejects a missing or forged token', async () => {
    const missing = await fetch(String(discovery['userinfo_endpoint']));
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer /);
    const { tokens } = await gatewayLogin('viewer');
    const [header, payload] = tokens.access_token.split('.');
    const forged = await fetch(String(discovery['userinfo_endpoint']), {
      headers: { authorization: `Bearer ${header}.${payload}.AAAA` },
    });
    expect(forged.status).toBe(401);
  });

  it('rotates keys: new tokens get a new kid, old tokens verify until the old key is retired', async () => {
    const { tokens: before, browser } = await gatewayLogin('admin');
    const oldKid = decodeProtectedHeader(before.access_token).kid;
    expect(oldKid).toBe(idp.currentKid);

    const newKid = await idp.rotateKeys();
    expect(newKid).not.toBe(oldKid);
    expect(idp.currentKid).toBe(newKid);

    // The browser's IdP session survives the rotation (prompt=none succeeds) ...
    const silent = oidc.buildAuthorizationUrl(gateway, {
      redirect_uri: redirectUri,
      scope: 'openid',
      prompt: 'none',
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const sso = left(await browser.navigate(silent.href, {}, [redirectUri]));
    expect(sso.searchParams.get('error')).toBeNull();
    expect(sso.searchParams.get('code')).toEqual(expect.any(String));
    // ... and new tokens are signed with the new key.
    const { tokens: after } = await gatewayLogin('admin', browser);
    expect(decodeProtectedHeader(after.access_token).kid).toBe(newKid);
    expect(decodeProtectedHeader(after.id_token ?? '').kid).toBe(newKid);

    const both = freshJwks();
    const verify = (token: string, keySet: ReturnType<typeof createRemoteJWKSet>): Promise<JWTPayload> =>
      jwtVerify(token, keySet, { issuer: idp.issuer, audience: 'orthanc-gateway' }).then((r) => r.payload);
    await expect(verify(after.access_token, both)).resolves.toMatchObject({ typ: 'Bearer' });
    await expect(verify(before.access_token, both)).resolves.toMatchObject({ typ: 'Bearer' });

    idp.retireOldKeys();
    const onlyNew = freshJwks();
    await expect(verify(after.access_token, onlyNew)).resolves.toMatchObject({ typ: 'Bearer' });
    await expect(verify(before.access_token, onlyNew)).rejects.toThrow();
  });

  it('logs out through the end-session endpoint and notifies the gateway over the back channel', async () => {
    const { tokens, browser } = await gatewayLogin('viewer');
    const keys = freshJwks(); // keys may have rotated since beforeAll
    const { payload: id } = await jwtVerify(tokens.id_token ?? '', keys, { issuer: idp.issuer, audience: 'orthanc-gateway' });
    receiver.logoutTokens.length = 0;

    const endSession = oidc.buildEndSessionUrl(gateway, {
      id_token_hint: tokens.id_token ?? '',
      post_logout_redirect_uri: `${receiver.origin}/auth/signed-out`,
      state: 'bye',
    });
    expect(endSession.href.startsWith(String(discovery['end_session_endpoint']))).toBe(true);
    const confirm = await browser.navigate(endSession.href, {}, [`${receiver.origin}/`]);
    if (confirm.kind !== 'page') throw new Error('expected the sign-out confirmation page');
    const form = /<form[^>]*action="([^"]+)"[^>]*>\s*<input type="hidden" name="xsrf" value="([^"]+)"/.exec(confirm.html);
    expect(form).not.toBeNull();
    const done = left(
      await browser.navigate(
        new URL(form?.[1] ?? '', confirm.url).href,
        { method: 'POST', body: new URLSearchParams({ xsrf: form?.[2] ?? '', logout: 'yes' }) },
        [`${receiver.origin}/`],
      ),
    );
    expect(done.href).toBe(`${receiver.origin}/auth/signed-out?state=bye`);

    expect(receiver.logoutTokens).toHaveLength(1);
    const { payload, protectedHeader } = await jwtVerify(receiver.logoutTokens[0] ?? '', keys, {
      issuer: idp.issuer,
      audience: 'orthanc-gateway',
      algorithms: ['RS256'],
    });
    expect(protectedHeader.typ).toBe('logout+jwt');
    expect(payload.events).toEqual({ 'http://schemas.openid.net/event/backchannel-logout': {} });
    expect(payload.sid).toBe(id.sid);
    expect(payload.sub).toBe(id.sub);
    expect(payload.nonce).toBeUndefined();

    // The grant ended with the session: the refresh token is dead.
    await expect(oidc.refreshTokenGrant(gateway, tokens.refresh_token ?? '')).rejects.toThrow();
  });
});

describe('development IdP options', () => {
  it('takes client overrides and a public host name, and can reconfigure clients later', async () => {
    const idp = await startDevIdp({
      publicHost: 'localhost',
      clientOverrides: { 'orthanc-gateway': { redirectUris: ['http://127.0.0.1:1/auth/callback'], backchannelLogoutUri: null } },
    });
    try {
      expect(idp.issuer).toBe(`http://localhost:${idp.port}/realms/orthanc`);
      expect(idp.url).toBe(`http://localhost:${idp.port}`);
      const gw = () => idp.realm.clients.find((c) => c.clientId === 'orthanc-gateway');
      expect(gw()?.redirectUris).toEqual(['http://127.0.0.1:1/auth/callback']);
      expect(gw()?.backchannelLogoutUri).toBeUndefined();
      expect(gw()?.postLogoutRedirectUris).toEqual(['http://localhost:8080/auth/signed-out']);

      idp.configureClients({ appOrigin: 'http://127.0.0.1:2' });
      expect(gw()?.redirectUris).toEqual(['http://127.0.0.1:2/auth/callback']);
      expect(gw()?.backchannelLogoutUri).toBe('http://127.0.0.1:2/auth/backchannel-logout');
      const ohif = idp.realm.clients.find((c) => c.clientId === 'ohif-viewer');
      expect(ohif?.webOrigins).toEqual(['http://127.0.0.1:2']);

      // The provider serves the new registration.
      const authorize = (redirect: string) =>
        fetch(
          `http://127.0.0.1:${idp.port}/realms/orthanc/protocol/openid-connect/auth?${new URLSearchParams({
            client_id: 'orthanc-gateway',
            response_type: 'code',
            scope: 'openid',
            redirect_uri: redirect,
            code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
            code_challenge_method: 'S256',
          })}`,
          { redirect: 'manual' },
        );
      expect((await authorize('http://127.0.0.1:2/auth/callback')).status).toBe(303);
      expect((await authorize('http://localhost:8080/auth/callback')).status).toBe(400);
      expect(() => idp.configureClients({ clientOverrides: { nope: {} } })).toThrow(/no client "nope"/);
    } finally {
      await idp.stop();
    }
  });

  it('refuses to start when NODE_ENV=production', async () => {
    const saved = process.env['NODE_ENV'];
    process.env['NODE_ENV'] = 'production';
    try {
      await expect(startDevIdp()).rejects.toThrow(/NODE_ENV=production/);
    } finally {
      if (saved === undefined) delete process.env['NODE_ENV'];
      else process.env['NODE_ENV'] = saved;
    }
  });
});
