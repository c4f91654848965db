import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { createLogger } from '../../src/observability/logger.js';
import { runStartupDoctor } from '../../src/startup/doctor.js';
import { startConformanceStack, type ConformanceStack } from '../support/conformance-stack.js';
import { makeSeries } from '../support/dicom.js';
import { ACCEPT_DICOM_JSON, stowBody, tagValues } from '../support/dicomweb.js';
import { Browser } from '../support/http-browser.js';
import { CLIENT_ROLE_USER, PROVIDERS } from '../support/identity-provider.js';
import { waitFor } from '../support/process.js';
import { expectStudyNotFound } from '../support/study-access.js';
import { shareLinkClient, type CreatedLink } from '../support/share-links.js';

/**
 * One conformance suite, two providers: the same cases against the dev IdP and the real Keycloak
 * (tests/support/identity-provider.ts), both seeded from the realm export, with the real gateway,
 * Orthanc and Redis. What the README promises must hold whichever provider issues the tokens.
 */
const json = { accept: 'application/json' };
const PATIENT_SCOPE = 'patient/ImagingStudy.rs';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The claims of a realm user's access token for the gateway's client, as Keycloak 26.4 issues them with the realm export. */
const KEYCLOAK_ACCESS_TOKEN_CLAIMS = [
  'acr', 'aud', 'auth_time', 'azp', 'email', 'email_verified', 'exp', 'family_name', 'given_name', 'groups', 'iat', 'iss', 'jti', 'name',
  'preferred_username', 'realm_access', 'scope', 'sid', 'sub', 'typ',
];

/** What each user of the realm export may do, as the README's role table says. */
const ACCESS: Array<[username: string, roles: string[], reads: boolean, uploads: boolean, administers: boolean]> = [
  ['viewer', ['pacs-viewer'], true, false, false],
  ['uploader', ['pacs-uploader', 'pacs-viewer'], true, true, false],
  ['admin', ['pacs-admin', 'pacs-uploader', 'pacs-viewer'], true, true, true],
  ['norole', [], false, false, false],
  ['viewer-a', ['pacs-viewer'], true, false, false],
  ['viewer-b', ['pacs-viewer'], true, false, false],
  ['patient', [], false, false, false],
];

describe.each(PROVIDERS)('conformance against %s', (providerName) => {
  let stack: ConformanceStack;

  beforeAll(async () => {
    stack = await startConformanceStack(providerName);
  }, 240_000);

  afterAll(async () => {
    await stack?.stop();
  }, 60_000);

  const url = (path: string) => `${stack.publicUrl}${path}`;
  const bearer = (token: string, extra: Record<string, string> = {}) => ({ authorization: `Bearer ${token}`, ...extra });

  async function signedIn(username: string): Promise<Browser> {
    const browser = new Browser();
    const step = await stack.signIn(browser, username);
    if (step.kind !== 'page' || step.status !== 200) throw new Error(`sign-in as ${username} failed: ${JSON.stringify(step).slice(0, 400)}`);
    return browser;
  }

  /** A grant at the provider's token endpoint as the gateway's client (HTTP Basic, as the gateway authenticates). */
  async function tokenRequest(params: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
    const { clientId, clientSecret } = stack.provider;
    const response = await fetch(`${stack.provider.issuer}/protocol/openid-connect/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}` },
      body: new URLSearchParams(params),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }
  const refreshAtProvider = (refreshToken: string) => tokenRequest({ grant_type: 'refresh_token', refresh_token: refreshToken });

  /** The access one caller gets, through `send` (Bearer headers or a signed-in browser). */
  async function accessOf(send: (path: string, init?: RequestInit) => Promise<Response>) {
    const me = await send('/auth/me', { headers: json });
    const qido = await send('/pacs/dicom-web/studies', { headers: { accept: ACCEPT_DICOM_JSON } });
    const upload = makeSeries({ modality: 'CT', patientName: 'Conformance^Upload', patientId: 'UP-1', institutionName: 'Uploads', instances: 1, rows: 8, columns: 8 });
    const { body, contentType } = stowBody(upload.files);
    const stow = await send('/pacs/dicom-web/studies', { method: 'POST', headers: { 'content-type': contentType, origin: stack.publicUrl, accept: ACCEPT_DICOM_JSON }, body });
    const admin = await send('/pacs-admin/system', { headers: json });
    await Promise.all([qido, stow, admin].map((response) => response.body?.cancel()));
    const who = (await me.json()) as { roles: string[]; via: string; username: string };
    return { me: who, reads: qido.status, uploads: stow.status, administers: admin.status };
  }

  const expected = (roles: string[], reads: boolean, uploads: boolean, administers: boolean, username: string, via: string) => ({
    me: expect.objectContaining({ username, via, roles: expect.arrayContaining(roles) }),
    reads: reads ? 200 : 403,
    uploads: uploads ? 200 : 403,
    administers: administers ? 200 : 403,
  });
  /** No pacs-* role beyond those the realm export grants. */
  const pacsRoles = (roles: string[]) => roles.filter((role) => role.startsWith('pacs-')).sort();

  it('publishes discovery with the exact issuer, and the gateway’s start-up doctor accepts it', async () => {
    const discovery = (await (await fetch(`${stack.provider.discoveryUrl}/.well-known/openid-configuration`)).json()) as Record<string, string>;
    expect(discovery['issuer']).toBe(stack.provider.issuer);
    expect(discovery['end_session_endpoint']).toBe(`${stack.provider.issuer}/protocol/openid-connect/logout`);
    const findings = await runStartupDoctor(stack.gateway.config, createLogger('silent'));
    expect(findings.find((finding) => finding.check === 'identity-provider')).toEqual({
      check: 'identity-provider',
      severity: 'ok',
      message: `identity provider discovery names issuer ${stack.provider.issuer}`,
    });
  });

  it('issues access tokens of Keycloak 26’s shape: the same claims, header typ JWT, aud from the audience mapper only', async () => {
    const tokens = await stack.provider.tokens('viewer-a');
    expect(decodeProtectedHeader(tokens.access_token)).toEqual({ alg: 'RS256', typ: 'JWT', kid: expect.any(String) });
    const claims = decodeJwt(tokens.access_token);
    expect(Object.keys(claims).sort()).toEqual(KEYCLOAK_ACCESS_TOKEN_CLAIMS);
    expect(claims).toEqual(expect.objectContaining({ iss: stack.provider.issuer, aud: 'orthanc-gateway', azp: 'orthanc-gateway', typ: 'Bearer' }));
    expect(String(claims['scope']).split(' ').sort()).toEqual(['email', 'openid', 'profile']); // Keycloak's order varies
    expect(claims['sid']).toBe(decodeJwt(tokens.id_token!)['sid']);
  });

  it('enforces the realm export’s client settings: PKCE required, exact redirect URIs, no password grant', async () => {
    const callback = url('/auth/callback');
    const authorize = (params: Record<string, string>) =>
      new Browser().navigate(`${stack.provider.issuer}/protocol/openid-connect/auth?${new URLSearchParams({ client_id: stack.provider.clientId, response_type: 'code', scope: 'openid', state: 's', ...params })}`, {}, [callback]);
    const withoutPkce = await authorize({ redirect_uri: callback });
    expect(withoutPkce.kind === 'left' && withoutPkce.url.searchParams.get('error')).toBe('invalid_request');
    const elsewhere = await authorize({ redirect_uri: url('/auth/callback-elsewhere'), code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' });
    expect(elsewhere.kind).toBe('page'); // an error page at the provider, never a redirect to an unregistered URI
    expect(elsewhere.kind === 'page' && elsewhere.status).toBeGreaterThanOrEqual(400);

    const password = await tokenRequest({ grant_type: 'password', username: 'viewer', password: stack.provider.passwords['viewer']!, scope: 'openid' });
    expect(password.status).toBe(400);
    expect(password.body).not.toHaveProperty('access_token');
  });

  it.each(ACCESS)('Bearer: %s gets roles %j and exactly the README’s access', async (username, roles, reads, uploads, administers) => {
    const token = await stack.provider.accessToken(username);
    const access = await accessOf((path, init = {}) => fetch(url(path), { ...init, headers: bearer(token, init.headers as Record<string, string>) }));
    expect(access).toEqual(expected(roles, reads, uploads, administers, username, 'bearer'));
    expect(pacsRoles(access.me.roles)).toEqual([...roles].sort());
  });

  it.each(ACCESS)('browser session signed in through the login form: %s gets roles %j and exactly the README’s access', async (username, roles, reads, uploads, administers) => {
    const browser = await signedIn(username);
    const access = await accessOf((path, init) => browser.request(url(path), init));
    expect(access).toEqual(expected(roles, reads, uploads, administers, username, 'session'));
    expect(pacsRoles(access.me.roles)).toEqual([...roles].sort());
  });

  it.each<[string, 'Hospital A' | 'Hospital B']>([
    ['viewer-a', 'Hospital A'],
    ['viewer-b', 'Hospital B'],
  ])('groups claim (STUDY_ACCESS_CLAIM=groups): %s lists and reads only %s', async (username, hospital) => {
    const token = await stack.provider.accessToken(username);
    expect(decodeJwt(token)['groups']).toEqual([hospital]);
    const listed = await fetch(`${stack.byGroups.url}/pacs/dicom-web/studies`, { headers: bearer(token, { accept: ACCEPT_DICOM_JSON }) });
    expect(listed.status).toBe(200);
    expect((tagValues(await listed.json(), '0020000D') as string[]).sort()).toEqual([...stack.studies[hospital]].sort());
    const other = hospital === 'Hospital A' ? 'Hospital B' : 'Hospital A';
    const foreign = await fetch(`${stack.byGroups.url}/pacs/dicom-web/studies/${stack.studies[other][0]}/metadata`, { headers: bearer(token, { accept: ACCEPT_DICOM_JSON }) });
    // "Not yours" answers exactly like "no such study" for a study-scoped user (security model, issue 14 item 4).
    expect(foreign.status).toBe(404);
    expect(((await foreign.json()) as { message: string }).message).toBe('No such study, or not one you may see');
    const own = await fetch(`${stack.byGroups.url}/pacs/dicom-web/studies/${stack.studies[hospital][0]}/metadata`, { headers: bearer(token, { accept: ACCEPT_DICOM_JSON }) });
    expect(own.status).toBe(200);
  });

  it('client roles: resource_access.orthanc-gateway.roles count only where OIDC_ROLES_CLIENT names the client', async () => {
    const token = await stack.provider.accessToken(CLIENT_ROLE_USER);
    expect(decodeJwt(token)['resource_access']).toEqual(expect.objectContaining({ 'orthanc-gateway': { roles: ['pacs-viewer'] } }));
    const me = await fetch(url('/auth/me'), { headers: bearer(token, json) });
    expect(pacsRoles(((await me.json()) as { roles: string[] }).roles)).toEqual(['pacs-viewer']);
    expect((await fetch(url('/pacs/dicom-web/studies'), { headers: bearer(token, json) })).status).toBe(200);
    expect((await fetch(`${stack.byGroups.url}/pacs/dicom-web/studies`, { headers: bearer(token, json) })).status).toBe(403);
  });

  it('SMART: the patient asking for patient/ImagingStudy.rs gets the scope and their Patient ID, and sees only their study; without the scope, nothing', async () => {
    const smartGet = (path: string, token: string) => fetch(`${stack.smart.url}${path}`, { headers: bearer(token, { accept: ACCEPT_DICOM_JSON }) });
    const token = (await stack.provider.tokens('patient', 'gateway', `openid ${PATIENT_SCOPE}`)).access_token;
    const claims = decodeJwt(token);
    expect(String(claims['scope']).split(' ')).toContain(PATIENT_SCOPE);
    expect(claims['patient']).toBe('DEV-CT-1');
    const listed = await smartGet('/pacs/dicom-web/studies', token);
    expect(listed.status).toBe(200);
    expect(tagValues(await listed.json(), '0020000D')).toEqual(stack.studies.patient);
    expect((await smartGet(`/pacs/dicom-web/studies/${stack.studies.patient[0]}/metadata`, token)).status).toBe(200);
    await expectStudyNotFound(await smartGet(`/pacs/dicom-web/studies/${stack.studies['Hospital A'][0]}/metadata`, token));

    const plain = await stack.provider.accessToken('patient');
    expect(String(decodeJwt(plain)['scope']).split(' ')).not.toContain(PATIENT_SCOPE);
    expect(decodeJwt(plain)['patient']).toBeUndefined();
    expect((await smartGet('/pacs/dicom-web/studies', plain)).status).toBe(403);
    // A user without a Patient ID gets the scope but no patient context: refused too.
    const noPatient = await stack.provider.tokens('viewer', 'gateway', `openid ${PATIENT_SCOPE}`);
    expect(decodeJwt(noPatient.access_token)['patient']).toBeUndefined();
    expect((await smartGet('/pacs/dicom-web/studies', noPatient.access_token)).status).toBe(403);
    // The scope is optional on the SMART clients only: another client asking for it is refused at the authorization endpoint.
    await expect(stack.provider.tokens('patient', 'other', `openid ${PATIENT_SCOPE}`)).rejects.toMatchObject({ error: 'invalid_scope' });
  });

  it('accepts the OHIF public client’s token (audience mapper) and refuses another client’s token without the audience (401)', async () => {
    const ohif = await stack.provider.accessToken('viewer', 'ohif');
    expect(decodeJwt(ohif)['azp']).toBe('ohif-viewer');
    expect((await fetch(url('/pacs/dicom-web/studies'), { headers: bearer(ohif, json) })).status).toBe(200);

    const other = await stack.provider.accessToken('viewer', 'other');
    const claims = decodeJwt(other);
    expect(claims['azp']).toBe('conformance-other');
    expect([claims.aud ?? []].flat()).toEqual([]); // no audience mapper: no audience (Keycloak leaves aud out, the dev IdP writes [])
    const refused = await fetch(url('/pacs/dicom-web/studies'), { headers: bearer(other, json) });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer /);
  });

  it('token revocation (RFC 7009) as the OHIF client sends it before a sign-out: 200 with no body and no Content-Type, CORS for the viewer; the refresh token is then refused', async () => {
    const tokens = await stack.provider.tokens('viewer', 'ohif');
    for (const [token, hint] of [[tokens.access_token, 'access_token'], [tokens.refresh_token!, 'refresh_token']] as const) {
      const revoked = await fetch(`${stack.provider.issuer}/protocol/openid-connect/revoke`, {
        method: 'POST',
        headers: { origin: stack.publicUrl },
        body: new URLSearchParams({ client_id: 'ohif-viewer', token, token_type_hint: hint }),
      });
      expect({ hint, status: revoked.status, contentType: revoked.headers.get('content-type'), body: await revoked.text() }).toEqual({ hint, status: 200, contentType: null, body: '' });
      expect(revoked.headers.get('access-control-allow-origin')).toBe(stack.publicUrl);
    }
    const refresh = await fetch(`${stack.provider.issuer}/protocol/openid-connect/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'refresh_token', client_id: 'ohif-viewer', refresh_token: tokens.refresh_token! }),
    });
    expect(refresh.status).toBe(400);
    expect(((await refresh.json()) as { error: string }).error).toBe('invalid_grant');
  });

  it('RP-initiated logout: POST /auth/logout ends the provider’s session too (id_token_hint), the next sign-in asks for credentials', async () => {
    const browser = await signedIn('viewer');
    const logout = await browser.request(url('/auth/logout'), { method: 'POST', headers: { origin: stack.publicUrl } });
    expect(logout.status).toBe(302);
    const endSession = new URL(logout.headers.get('location')!);
    expect(`${endSession.origin}${endSession.pathname}`).toBe(`${stack.provider.issuer}/protocol/openid-connect/logout`);
    expect(endSession.searchParams.get('id_token_hint')).toBeTruthy();
    expect(endSession.searchParams.get('post_logout_redirect_uri')).toBe(`${stack.publicUrl}/auth/signed-out`);
    // The provider accepts the URI the realm export registers and sends the browser to the "Signed out" page.
    const back = await stack.provider.followEndSession(browser, endSession, [`${stack.publicUrl}/`]);
    expect(back).toEqual({ kind: 'left', url: new URL(`${stack.publicUrl}/auth/signed-out`) });
    const signedOut = await browser.request(url('/auth/signed-out'));
    expect(signedOut.status).toBe(200);
    expect(await signedOut.text()).toContain('<h1>Signed out</h1>');
    expect((await browser.request(url('/auth/me'), { headers: json })).status).toBe(401);
    const again = await browser.navigate(url('/auth/login?returnTo=%2Fauth%2Fme'), {}, [url('/auth/callback')]);
    expect(again.kind).toBe('page');
    expect(again.kind === 'page' && again.html).toContain('kc-form-login');
  });

  it('back-channel logout sent by the provider itself when an admin ends the user’s sessions', async () => {
    const browser = await signedIn('uploader');
    expect((await browser.request(url('/auth/me'), { headers: json })).status).toBe(200);
    const before = stack.logs.count('back-channel logout');
    await stack.provider.endUserSessions('uploader');
    // One logout token per session of the user (the code-flow sign-ins of earlier cases are sessions too).
    expect(stack.logs.count('back-channel logout')).toBeGreaterThan(before);
    expect((await browser.request(url('/auth/me'), { headers: json })).status).toBe(401);
    // The provider's own session is gone as well: signing in asks for the password again.
    const again = await browser.navigate(url('/auth/login?returnTo=%2Fauth%2Fme'), {}, [url('/auth/callback')]);
    expect(again.kind === 'page' && again.html).toContain('kc-form-login');
  });

  it('short access tokens (admin API) with refresh-token rotation: 100 parallel requests on one session refresh once, none lost, twice in a row', async () => {
    const lifespan = 20;
    await stack.provider.updateRealm({ accessTokenLifespan: lifespan, revokeRefreshToken: true });
    try {
      // The provider really rotates now: a refresh token is good for one refresh.
      const { refresh_token: first } = await stack.provider.tokens('viewer');
      const once = await refreshAtProvider(first!);
      expect(once.status).toBe(200);
      expect(once.body['refresh_token']).not.toBe(first);
      expect(await refreshAtProvider(first!)).toEqual({ status: 400, body: expect.objectContaining({ error: 'invalid_grant' }) });

      const browser = await signedIn('viewer');
      for (const round of [1, 2]) {
        const before = stack.logs.count('session access token refreshed');
        await sleep((lifespan - 3) * 1000); // inside the gateway's refresh window (the last quarter), not yet expired
        const answers = await Promise.all(
          Array.from({ length: 100 }, () => browser.request(url('/pacs/dicom-web/studies'), { headers: { accept: ACCEPT_DICOM_JSON } }).then(async (response) => {
            await response.body?.cancel();
            return { status: response.status, requestId: response.headers.get('x-request-id') };
          })),
        );
        // What the gateway logged about any request not answered 200 (shown only when this fails).
        const failed = new Set(answers.filter((answer) => answer.status !== 200).map((answer) => answer.requestId));
        const loggedAboutFailed = stack.logs.lines.filter((line) => failed.has(line['requestId'] as string));
        expect({ round, statuses: answers.map((answer) => answer.status), loggedAboutFailed }).toEqual({ round, statuses: Array(100).fill(200), loggedAboutFailed: [] });
        expect(stack.logs.count('session access token refreshed') - before).toBe(1);
      }
    } finally {
      await stack.provider.updateRealm({ accessTokenLifespan: 300, revokeRefreshToken: false });
    }
  }, 120_000);

  it('share links end with the creator’s right to share: signed out by the provider (not by their own sign-out), disabled, or the share role removed (admin API)', async () => {
    const lifespan = 20;
    const links = shareLinkClient(stack.publicUrl);
    const study = stack.studies['Hospital A'][0]!;
    const opened = async (link: CreatedLink) => {
      const recipient = new Browser();
      expect((await links.open(link, recipient)).status).toBe(302);
      expect((await recipient.request(url('/pacs/dicom-web/studies'), { headers: json })).status).toBe(200);
      return recipient;
    };
    const refreshDue = () => sleep((lifespan - 3) * 1000); // inside the gateway's refresh window, not yet expired
    await stack.provider.updateRealm({ accessTokenLifespan: lifespan });
    try {
      // Signed out by the provider (back-channel logout): paused until the creator signs in again.
      let link = await links.created(await signedIn('uploader'), study);
      let recipient = await opened(link);
      await stack.provider.endUserSessions('uploader');
      expect((await recipient.request(url('/pacs/dicom-web/studies'), { headers: json })).status).toBe(401);
      expect((await links.open(link)).status).toBe(403);
      let creator = await signedIn('uploader');
      recipient = await opened(link);

      // The creator's own sign-out through the gateway: the provider's back-channel logout of that session is its echo, no pause.
      const sub = ((await (await creator.request(url('/auth/me'), { headers: json })).json()) as { sub: string }).sub;
      const logoutsOfCreator = () => stack.logs.lines.filter((line) => line['msg'] === 'back-channel logout' && line['sub'] === sub);
      const seen = logoutsOfCreator().length;
      const logout = await creator.request(url('/auth/logout'), { method: 'POST', headers: { origin: stack.publicUrl } });
      await stack.provider.followEndSession(creator, new URL(logout.headers.get('location')!), [`${stack.publicUrl}/`]);
      await waitFor(() => logoutsOfCreator().length > seen, { what: 'the back-channel logout of the sign-out' });
      expect(logoutsOfCreator().slice(seen).every((line) => line['linksPaused'] === false)).toBe(true);
      expect((await creator.request(url('/auth/me'), { headers: json })).status).toBe(401);
      expect((await recipient.request(url('/pacs/dicom-web/studies'), { headers: json })).status).toBe(200);
      expect((await links.open(link)).status).toBe(302);
      creator = await signedIn('uploader');

      // Disabled: the creator's next refresh fails, the link pauses.
      await stack.provider.setUserEnabled('uploader', false);
      await refreshDue();
      expect((await creator.request(url('/auth/me'), { headers: json })).status).toBe(401);
      expect((await recipient.request(url('/pacs/dicom-web/studies'), { headers: json })).status).toBe(401);
      expect((await links.open(link)).status).toBe(403);
      await stack.provider.setUserEnabled('uploader', true);

      // The share role removed: the creator's next refresh carries the new roles (Keycloak 26 too): revoked for good.
      creator = await signedIn('uploader');
      link = await links.created(creator, study);
      recipient = await opened(link);
      await stack.provider.setRealmRoles('uploader', ['pacs-viewer']);
      await refreshDue();
      await (await creator.request(url('/auth/me'), { headers: json })).body?.cancel();
      expect((await recipient.request(url('/pacs/dicom-web/studies'), { headers: json })).status).toBe(401);
      expect((await links.open(link)).status).toBe(404);
      await signedIn('uploader');
      expect((await links.open(link)).status).toBe(404);
    } finally {
      await stack.provider.setUserEnabled('uploader', true);
      await stack.provider.setRealmRoles('uploader', ['pacs-uploader', 'pacs-viewer']);
      await stack.provider.updateRealm({ accessTokenLifespan: 300 });
    }
  }, 180_000);
});
