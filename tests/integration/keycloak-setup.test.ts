import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import KcAdminClient from '@keycloak/keycloak-admin-client';
import { execFile } from 'node:child_process';
import { decodeJwt } from 'jose';
import { AuditTokenError, createAuditTokenSource } from '../../src/audit/fhir-token.js';
import { createIssuerMetadataSource } from '../../src/auth/issuer.js';
import { signInWithCodeFlow } from '../support/dev-idp-login.js';
import { freePort } from '../support/free-port.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { Browser, left } from '../support/http-browser.js';
import { startKeycloak, type KeycloakServer } from '../support/keycloak.js';
import { startOrthanc, type TestOrthanc } from '../support/orthanc.js';

/**
 * `npm run keycloak -- setup|doctor` against the real Keycloak: an empty realm is set up, checked,
 * signed into through the gateway, broken through the admin API and diagnosed.
 */
const REALM = 'hospital';
const USER = { username: 'ward-viewer', password: 'ward-viewer-password' };

let keycloak: KeycloakServer;
let orthanc: TestOrthanc;
let gateway: TestGateway | undefined;
let admin: KcAdminClient;
let publicUrl: string;
let gatewayPort: number;

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** The command as users run it (`npm run keycloak` is `tsx src/keycloak-setup/cli.ts`), as the master realm's admin unless told. */
function cliAs(credentials: Record<string, string>, args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/keycloak-setup/cli.ts', ...args, '--url', keycloak.url, '--realm', REALM, '--public-url', publicUrl], {
      env: { PATH: process.env['PATH'], ...credentials },
      timeout: 60_000,
    }, (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }));
  });
}
const masterAdmin = () => ({ KEYCLOAK_ADMIN_USERNAME: keycloak.adminUsername, KEYCLOAK_ADMIN_PASSWORD: keycloak.adminPassword });
const cli = (...args: string[]) => cliAs(masterAdmin(), args);

async function gatewayClient() {
  const [client] = await admin.clients.find({ clientId: 'orthanc-gateway' });
  if (!client?.id) throw new Error('orthanc-gateway client not found');
  return client as typeof client & { id: string };
}

async function doctorFindings(): Promise<{ code: number; ids: string[]; findings: Array<{ id: string; fix: string; severity: string }> }> {
  const run = await cli('doctor', '--json', '--ohif', '--groups-mapper');
  const { findings } = JSON.parse(run.stdout) as { findings: Array<{ id: string; fix: string; severity: string }> };
  return { code: run.code, ids: findings.map((finding) => finding.id), findings };
}

beforeAll(async () => {
  [keycloak, orthanc, gatewayPort] = await Promise.all([
    startKeycloak({ realmFiles: { 'hospital-realm.json': JSON.stringify({ realm: REALM, enabled: true }) } }),
    startOrthanc(),
    freePort(),
  ]);
  publicUrl = `http://127.0.0.1:${gatewayPort}`;
  admin = new KcAdminClient({ baseUrl: keycloak.url, realmName: REALM });
  // A fresh master-realm token per request: admin-cli's tokens live one minute, the suite longer.
  admin.registerTokenProvider({ getAccessToken: () => keycloak.adminToken() });
}, 300_000);

afterAll(async () => {
  await gateway?.close(1000);
  await Promise.all([keycloak?.stop(), orthanc?.stop()]);
}, 60_000);

describe('npm run keycloak -- setup / doctor against Keycloak', () => {
  let secret = '';

  it('doctor on the empty realm reports the missing client and roles, exit code 1', async () => {
    const { code, ids } = await doctorFindings();
    expect(code).toBe(1);
    expect(ids).toEqual(expect.arrayContaining(['client-missing', 'role-missing']));
  }, 90_000);

  it('setup creates the client, roles and mappers and prints the new secret once', async () => {
    const run = await cli('setup', '--ohif', '--groups-mapper');
    expect(run).toMatchObject({ code: 0 });
    expect(run.stdout).toContain('created client orthanc-gateway');
    expect(run.stdout).toContain('created client ohif-viewer');
    expect(run.stdout).toContain('created role pacs-viewer');
    secret = /Client secret of orthanc-gateway[^:]*: (\S+)/.exec(run.stdout)?.[1] ?? '';
    expect(secret.length).toBeGreaterThan(16);
  }, 90_000);

  it('the client has the gateway settings (read through the admin API)', async () => {
    const client = await gatewayClient();
    expect(client).toMatchObject({
      publicClient: false,
      standardFlowEnabled: true,
      implicitFlowEnabled: false,
      directAccessGrantsEnabled: false,
      redirectUris: [`${publicUrl}/auth/callback`],
    });
    expect(client.attributes).toMatchObject({
      'pkce.code.challenge.method': 'S256',
      'post.logout.redirect.uris': `${publicUrl}/auth/signed-out`,
      'backchannel.logout.url': `${publicUrl}/auth/backchannel-logout`,
      'backchannel.logout.session.required': 'true',
    });
    const mappers = await admin.clients.listProtocolMappers({ id: client.id });
    expect(mappers.map((mapper) => mapper.protocolMapper).sort()).toEqual(['oidc-audience-mapper', 'oidc-group-membership-mapper']);
    const ohif = (await admin.clients.find({ clientId: 'ohif-viewer' }))[0];
    expect(ohif).toMatchObject({ publicClient: true, webOrigins: [publicUrl], redirectUris: expect.arrayContaining([`${publicUrl}/callback`]) });
  });

  it('a second setup changes nothing and says so, without printing the secret', async () => {
    const run = await cli('setup', '--ohif', '--groups-mapper');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('nothing changed');
    expect(run.stdout).not.toContain(secret);
  }, 90_000);

  it('doctor finds nothing on the set-up realm (exit code 0)', async () => {
    const { code, findings } = await doctorFindings();
    expect(findings).toEqual([]);
    expect(code).toBe(0);
  }, 90_000);

  it("a user's token carries aud=orthanc-gateway and the realm role; the gateway signs the user in", async () => {
    const userId = (await admin.users.create({ username: USER.username, enabled: true, email: 'ward@hospital.test', emailVerified: true, firstName: 'Ward', lastName: 'Viewer' })).id;
    await admin.users.resetPassword({ id: userId, credential: { type: 'password', value: USER.password, temporary: false } });
    const role = await admin.roles.findOneByName({ name: 'pacs-viewer' });
    await admin.users.addRealmRoleMappings({ id: userId, roles: [{ id: role!.id!, name: role!.name! }] });
    const issuer = `${keycloak.url}/realms/${REALM}`;

    const tokens = await signInWithCodeFlow({ issuer, clientId: 'orthanc-gateway', clientSecret: secret, redirectUri: `${publicUrl}/auth/callback`, ...USER });
    const claims = decodeJwt(tokens.access_token);
    // A new realm's default roles include the account client's, so Keycloak also adds aud "account".
    expect([claims.aud].flat()).toContain('orthanc-gateway');
    expect((claims['realm_access'] as { roles: string[] }).roles).toContain('pacs-viewer');

    gateway = await startTestGateway({
      PORT: String(gatewayPort),
      PUBLIC_URL: publicUrl,
      OIDC_ISSUER: issuer,
      OIDC_CLIENT_SECRET: secret,
      ORTHANC_URL: orthanc.url,
      ORTHANC_USERNAME: orthanc.username,
      ORTHANC_PASSWORD: orthanc.password,
    });
    const browser = new Browser();
    const callback = left(await browser.login(new URL('/auth/login?returnTo=/auth/me', publicUrl), USER.username, USER.password, [`${publicUrl}/auth/callback`]));
    expect((await browser.request(callback.href)).status).toBe(302);
    const me = await browser.request(`${publicUrl}/auth/me`);
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ username: USER.username, roles: expect.arrayContaining(['pacs-viewer']), via: 'session' });
  }, 120_000);

  it('doctor reports a realm broken through the admin API, each with its fix, and setup repairs it', async () => {
    const client = await gatewayClient();
    // The post-logout redirect of gateways before /auth/signed-out: a realm set up for them.
    const oldPostLogout = { ...client.attributes, 'post.logout.redirect.uris': `${publicUrl}/` };
    await admin.clients.update({ id: client.id }, { ...client, directAccessGrantsEnabled: true, redirectUris: [`${publicUrl}/*`], attributes: oldPostLogout });
    const audience = (await admin.clients.listProtocolMappers({ id: client.id })).find((mapper) => mapper.protocolMapper === 'oidc-audience-mapper');
    await admin.clients.delProtocolMapper({ id: client.id, mapperId: audience!.id! });
    await admin.realms.update({ realm: REALM }, { accessTokenLifespan: 3600 });

    const broken = await doctorFindings();
    expect(broken.code).toBe(1);
    expect(broken.ids.sort()).toEqual(['access-token-lifespan', 'audience-mapper-missing', 'direct-grants-on', 'post-logout-redirect-missing', 'redirect-uri-missing', 'redirect-uri-wildcard']);
    for (const finding of broken.findings) expect(finding.fix).not.toBe('');
    expect(broken.findings.find((finding) => finding.id === 'post-logout-redirect-missing')?.fix).toContain(`${publicUrl}/auth/signed-out`);

    const repair = await cli('setup', '--ohif', '--groups-mapper');
    expect(repair.stdout).toContain('created mapper "audience orthanc-gateway" of client orthanc-gateway');
    expect(repair.stdout).toMatch(/updated client orthanc-gateway \(.*directAccessGrantsEnabled.*redirectUris/);
    expect((await gatewayClient()).attributes?.['post.logout.redirect.uris']).toBe(`${publicUrl}/auth/signed-out`);
    await admin.realms.update({ realm: REALM }, { accessTokenLifespan: 300 });
    expect(await doctorFindings()).toMatchObject({ code: 0, ids: [] });
  }, 180_000);

  it("works with a service-account client of the realm holding realm-management roles instead of the master realm's admin", async () => {
    const { id } = await admin.clients.create({ clientId: 'gateway-setup', publicClient: false, serviceAccountsEnabled: true, standardFlowEnabled: false, directAccessGrantsEnabled: false });
    const serviceAccount = await admin.clients.getServiceAccountUser({ id });
    const [realmManagement] = await admin.clients.find({ clientId: 'realm-management' });
    const roles = await Promise.all(['view-realm', 'view-clients', 'manage-realm', 'manage-clients']
      .map((roleName) => admin.clients.findRole({ id: realmManagement!.id!, roleName })));
    await admin.users.addClientRoleMappings({ id: serviceAccount.id!, clientUniqueId: realmManagement!.id!, roles: roles.map((role) => ({ id: role!.id!, name: role!.name! })) });
    const { value } = await admin.clients.getClientSecret({ id });
    const serviceCredentials = { KEYCLOAK_ADMIN_CLIENT_ID: 'gateway-setup', KEYCLOAK_ADMIN_CLIENT_SECRET: value! };

    const setup = await cliAs(serviceCredentials, ['setup', '--admin-realm', REALM, '--ohif', '--groups-mapper']);
    expect(setup).toMatchObject({ code: 0 });
    expect(setup.stdout).toContain('nothing changed');
    const doctor = await cliAs(serviceCredentials, ['doctor', '--admin-realm', REALM, '--ohif']);
    expect(doctor.stdout).toContain('nothing found');
    expect(doctor.code).toBe(0);
    // A wrong secret: Keycloak refuses the service account, and the command says it failed (exit code 2).
    const refused = await cliAs({ ...serviceCredentials, KEYCLOAK_ADMIN_CLIENT_SECRET: 'wrong' }, ['doctor', '--admin-realm', REALM]);
    expect(refused.code).toBe(2);
  }, 120_000);

  describe('the FHIR audit client (--audit-client)', () => {
    const AUDIT_ENV = { AUDIT_FHIR_CLIENT_ID: 'audit-sender', AUDIT_FHIR_SCOPE: 'system/AuditEvent.c' };
    let auditSecret = '';
    const auditTokens = (scope: string) => {
      const issuer = `${keycloak.url}/realms/${REALM}`;
      return createAuditTokenSource({
        clientId: 'audit-sender', clientSecret: auditSecret, tokenUrl: undefined, scope,
        issuer, metadata: createIssuerMetadataSource({ issuer, discoveryUrl: issuer }), timeoutMs: 10_000,
      });
    };
    const auditClient = async () => (await admin.clients.find({ clientId: 'audit-sender' }))[0]!;
    /** doctor as the gateway with the audit transport runs it: AUDIT_FHIR_* from its environment. */
    const auditDoctor = async () => {
      const run = await cliAs({ ...masterAdmin(), ...AUDIT_ENV }, ['doctor', '--json']);
      return { code: run.code, ids: (JSON.parse(run.stdout) as { findings: Array<{ id: string; client?: string }> }).findings.map(({ id, client }) => `${client}: ${id}`) };
    };

    it('doctor with AUDIT_FHIR_CLIENT_ID reports the missing audit client', async () => {
      expect(await auditDoctor()).toEqual({ code: 1, ids: ['audit-sender: client-missing'] });
    }, 90_000);

    it('setup creates a service-account-only client and its scope, and prints the secret for AUDIT_FHIR_CLIENT_SECRET once', async () => {
      const run = await cliAs({ ...masterAdmin(), ...AUDIT_ENV }, ['setup', '--audit-audience', 'fhir-audit-repository']);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('created client audit-sender');
      expect(run.stdout).toContain('created mapper "audience fhir-audit-repository" of client audit-sender');
      expect(run.stdout).toContain('created client scope system/AuditEvent.c');
      expect(run.stdout).toContain('created optional client scope system/AuditEvent.c of client audit-sender');
      // The gateway's client existed: only the new client's secret is shown.
      expect(run.stdout).not.toContain('Client secret of orthanc-gateway');
      auditSecret = /Client secret of audit-sender \(put it into AUDIT_FHIR_CLIENT_SECRET; shown once\): (\S+)/.exec(run.stdout)?.[1] ?? '';
      expect(auditSecret.length).toBeGreaterThan(16);
      expect(await auditClient()).toMatchObject({
        publicClient: false, serviceAccountsEnabled: true, standardFlowEnabled: false, implicitFlowEnabled: false, directAccessGrantsEnabled: false,
      });
    }, 90_000);

    it("the gateway's token source gets a token of the client with the audience and the scope; a scope not allowed is invalid_scope", async () => {
      const claims = decodeJwt(await auditTokens('system/AuditEvent.c').get());
      expect(claims).toMatchObject({ azp: 'audit-sender', iss: `${keycloak.url}/realms/${REALM}` });
      expect([claims.aud].flat()).toContain('fhir-audit-repository');
      expect(String(claims['scope']).split(' ')).toContain('system/AuditEvent.c');
      const refused = await auditTokens('system/Patient.r').get().then(() => undefined, (error: unknown) => error);
      expect(refused).toBeInstanceOf(AuditTokenError);
      expect((refused as Error).message).toMatch(/\(client audit-sender\): invalid_scope/);
      expect((refused as Error).message).not.toContain(auditSecret);
    }, 60_000);

    it('a second setup changes nothing; doctor finds nothing', async () => {
      const again = await cliAs({ ...masterAdmin(), ...AUDIT_ENV }, ['setup', '--audit-audience', 'fhir-audit-repository']);
      expect(again.code).toBe(0);
      expect(again.stdout).toContain('nothing changed');
      expect(again.stdout).not.toContain(auditSecret);
      expect(await auditDoctor()).toEqual({ code: 0, ids: [] });
    }, 90_000);

    it('doctor reports the audit client given other flows and its scope taken away; setup repairs it', async () => {
      const client = await auditClient();
      await admin.clients.update({ id: client.id! }, { ...client, serviceAccountsEnabled: false, standardFlowEnabled: true, directAccessGrantsEnabled: true, redirectUris: [`${publicUrl}/*`] });
      const [scope] = (await admin.clients.listOptionalClientScopes({ id: client.id! })).filter(({ name }) => name === 'system/AuditEvent.c');
      await admin.clients.delOptionalClientScope({ id: client.id!, clientScopeId: scope!.id! });

      const broken = await auditDoctor();
      expect(broken.code).toBe(1);
      expect(broken.ids.sort()).toEqual(['audit-sender: audit-scope-missing', 'audit-sender: direct-grants-on', 'audit-sender: service-account-off', 'audit-sender: standard-flow-on']);

      const repair = await cliAs({ ...masterAdmin(), ...AUDIT_ENV }, ['setup']);
      const updated = /updated client audit-sender \((.*)\)/.exec(repair.stdout)?.[1]?.split(', ');
      expect(updated).toEqual(expect.arrayContaining(['standardFlowEnabled', 'directAccessGrantsEnabled', 'serviceAccountsEnabled', 'redirectUris']));
      expect(repair.stdout).toContain('created optional client scope system/AuditEvent.c of client audit-sender');
      expect(await auditDoctor()).toEqual({ code: 0, ids: [] });
    }, 120_000);
  });

  it('doctor flags lightweight access tokens unless the gateway introspects', async () => {
    const client = await gatewayClient();
    await admin.clients.update({ id: client.id }, { ...client, attributes: { ...client.attributes, 'client.use.lightweight.access.token.enabled': 'true' } });
    const jwt = await cli('doctor', '--json');
    expect(jwt.code).toBe(1);
    expect((JSON.parse(jwt.stdout) as { findings: Array<{ id: string }> }).findings.map((finding) => finding.id)).toEqual(['lightweight-tokens-without-introspection']);
    expect(await cli('doctor', '--token-validation', 'introspection')).toMatchObject({ code: 0 });
  }, 90_000);
});
