/**
 * One interface over the two identity providers the conformance suite runs against: the dev IdP
 * (src/devidp, oidc-provider) and the real Keycloak (tests/support/keycloak.ts), both seeded from
 * the same realm (realm-export/orthanc-realm.json plus the test additions of `conformanceRealm`).
 * Everything a case does with the provider goes through here, the same way for both: the real
 * login form over HTTP, the code flow for Bearer tokens, the admin actions (Keycloak's admin REST
 * API; the dev IdP's faithful counterparts).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import KcAdminClient from '@keycloak/keycloak-admin-client';
import { startDevIdp, type DevIdp } from '../../src/devidp/server.js';
import { applySetup } from '../../src/keycloak-setup/apply.js';
import { auditScope, smartPatientScope } from '../../src/keycloak-setup/wanted-state.js';
import { gatewayRealmVariables } from '../../src/devidp/placeholders.js';
import { signInWithCodeFlow } from './dev-idp-login.js';
import { Browser, type Step } from './http-browser.js';
import { confirmDevIdpSignOut } from './idp-sign-out.js';
import { startKeycloak, type KeycloakServer } from './keycloak.js';
import { DEV_PASSWORDS } from './session-stack.js';

export type ProviderName = 'dev-idp' | 'keycloak';
/** For `describe.each(PROVIDERS)`. */
export const PROVIDERS: ProviderName[] = ['dev-idp', 'keycloak'];

/** The realm's token settings Keycloak's admin API changes at run time (new tokens follow them). */
export interface RealmTokenSettings {
  accessTokenLifespan?: number;
  /** Refresh-token rotation (`refreshTokenMaxReuse` is set to 0 with it). */
  revokeRefreshToken?: boolean;
}

/** Clients of the conformance realm a test can get tokens for, with the redirect URI each registered (path under the app origin). */
export const CLIENTS = {
  /** The gateway's confidential client (audience orthanc-gateway). */
  gateway: { clientId: 'orthanc-gateway', redirectPath: '/auth/callback' },
  /** OHIF's public client (audience mapper orthanc-gateway). */
  ohif: { clientId: 'ohif-viewer', redirectPath: '/callback' },
  /** A public client without an audience mapper: its tokens are not for the gateway. */
  other: { clientId: 'conformance-other', redirectPath: '/other-callback' },
} as const;
export type ClientName = keyof typeof CLIENTS;

/**
 * A confidential client with a service account only (no browser login), for the FHIR audit
 * transport's client credentials grant; its tokens are for the audit repository (audience mapper),
 * and it may ask for the optional client scope `scope` (AUDIT_FHIR_SCOPE).
 */
export const AUDIT_CLIENT = { clientId: 'audit-sender', secret: 'audit-sender-test-secret', audience: 'fhir-audit-repository', scope: 'system/AuditEvent.c' } as const;
/** Both providers as after `setup --audit-client audit-sender --audit-scope system/AuditEvent.c`. */
const AUDIT_SCOPE = auditScope(AUDIT_CLIENT.scope, AUDIT_CLIENT.clientId);

/**
 * Both providers as after `npm run keycloak -- setup --smart-clients orthanc-gateway,ohif-viewer`:
 * these clients have the optional scope patient/ImagingStudy.rs (patient_id → `patient`).
 */
export const SMART_CLIENT_IDS = [CLIENTS.gateway.clientId, CLIENTS.ohif.clientId];

/** A user of the conformance realm who has no realm roles, only the client role `orthanc-gateway`/pacs-viewer. */
export const CLIENT_ROLE_USER = 'client-viewer';
const PASSWORDS: Record<string, string> = { ...DEV_PASSWORDS, [CLIENT_ROLE_USER]: 'client-viewer-test-password' };

export interface IdentityProvider {
  name: ProviderName;
  /** The exact issuer (the `iss` of its tokens). */
  issuer: string;
  /** Where the gateway fetches discovery (OIDC_DISCOVERY_URL): the issuer here. */
  discoveryUrl: string;
  /** The gateway's client. */
  clientId: string;
  clientSecret: string;
  /** username → password of every user of the conformance realm. */
  passwords: Record<string, string>;
  /** The gateway's environment for this provider (OIDC_ISSUER, OIDC_DISCOVERY_URL, OIDC_CLIENT_ID/SECRET). */
  gatewayEnv(): Record<string, string>;
  /** Opens `authorizationUrl` and signs `username` in through the provider's real login page (HTTP, no script). */
  signInWithForm(browser: Browser, authorizationUrl: URL, username: string, leaveAt: string[]): Promise<Step>;
  /** Completes the provider's end-session step (a redirect from the gateway's POST /auth/logout) in an HTTP browser. */
  followEndSession(browser: Browser, endSessionUrl: URL, leaveAt: string[]): Promise<Step>;
  /** `username`'s tokens for a client, through the code flow with PKCE and the login form (`scope` default `openid`). */
  tokens(username: string, client?: ClientName, scope?: string): Promise<{ access_token: string; id_token?: string; refresh_token?: string }>;
  accessToken(username: string, client?: ClientName): Promise<string>;
  updateRealm(settings: RealmTokenSettings): Promise<void>;
  setAccessTokenLifespan(seconds: number): Promise<void>;
  /** An admin ends `username`'s sessions at the provider, which itself sends back-channel logout. */
  endUserSessions(username: string): Promise<void>;
  /** An admin disables (or enables) `username`: their sessions end without back-channel logout, refreshes fail. */
  setUserEnabled(username: string, enabled: boolean): Promise<void>;
  /** An admin sets `username`'s realm roles (among the realm's pacs-* roles); tokens issued from now on carry them. */
  setRealmRoles(username: string, roles: string[]): Promise<void>;
  stop(): Promise<void>;
}

interface RealmJson {
  clients: Array<Record<string, unknown>>;
  users: Array<Record<string, unknown>>;
  roles: { realm: unknown[]; client?: Record<string, unknown[]> };
  [key: string]: unknown;
}

/**
 * The realm export plus what only the tests need, identical for both providers: a client without an
 * audience mapper, a service-account client (AUDIT_CLIENT), and a client role of the gateway's client
 * held by a user without realm roles.
 */
export function conformanceRealm(): RealmJson {
  const realm = JSON.parse(readFileSync(new URL('../../realm-export/orthanc-realm.json', import.meta.url), 'utf8')) as RealmJson;
  return {
    ...realm,
    roles: { ...realm.roles, client: { ...realm.roles.client, 'orthanc-gateway': [{ name: 'pacs-viewer', description: 'client role (OIDC_ROLES_CLIENT)' }] } },
    clients: [
      ...realm.clients,
      {
        clientId: CLIENTS.other.clientId,
        enabled: true,
        protocol: 'openid-connect',
        publicClient: true,
        standardFlowEnabled: true,
        directAccessGrantsEnabled: false,
        redirectUris: [`\${GATEWAY_PUBLIC_URL:http://localhost:8080}${CLIENTS.other.redirectPath}`],
        webOrigins: [],
        attributes: { 'pkce.code.challenge.method': 'S256' },
        protocolMappers: [],
      },
      {
        clientId: AUDIT_CLIENT.clientId,
        enabled: true,
        protocol: 'openid-connect',
        publicClient: false,
        secret: AUDIT_CLIENT.secret,
        standardFlowEnabled: false,
        directAccessGrantsEnabled: false,
        serviceAccountsEnabled: true,
        protocolMappers: [
          {
            name: 'audit repository audience',
            protocol: 'openid-connect',
            protocolMapper: 'oidc-audience-mapper',
            config: { 'included.custom.audience': AUDIT_CLIENT.audience, 'access.token.claim': 'true', 'id.token.claim': 'false' },
          },
        ],
      },
    ],
    users: [
      ...realm.users,
      {
        id: '5d1c7e9a-3b1f-4e8e-9a51-0c6f2f7b9e11',
        username: CLIENT_ROLE_USER,
        enabled: true,
        emailVerified: true,
        firstName: 'Cleo',
        lastName: 'Client-Role',
        email: 'client-viewer@orthanc.localhost',
        credentials: [{ type: 'password', value: PASSWORDS[CLIENT_ROLE_USER], temporary: false }],
        realmRoles: [],
        clientRoles: { 'orthanc-gateway': ['pacs-viewer'] },
      },
    ],
  };
}

interface ProviderParts {
  name: ProviderName;
  issuer: string;
  clientSecret: string;
  followEndSession: IdentityProvider['followEndSession'];
  updateRealm: IdentityProvider['updateRealm'];
  endUserSessions: IdentityProvider['endUserSessions'];
  setUserEnabled: IdentityProvider['setUserEnabled'];
  setRealmRoles: IdentityProvider['setRealmRoles'];
  stop(): Promise<void>;
}

/**
 * What both providers resolve the realm's `${VAR:default}` placeholders with (Keycloak from its
 * environment, the dev IdP from `realmEnv`): the gateway's URLs and a client secret unlike the default.
 */
function realmVariables(appOrigin: string): Record<string, string> {
  return { ...gatewayRealmVariables(appOrigin), OIDC_CLIENT_SECRET: 'conformance-client-secret-from-placeholder' };
}

async function devIdpParts(appOrigin: string): Promise<ProviderParts> {
  const file = join(mkdtempSync(join(tmpdir(), 'conformance-realm-')), 'orthanc-realm.json');
  writeFileSync(file, JSON.stringify(conformanceRealm()));
  const idp: DevIdp = await startDevIdp({ realmEnv: realmVariables(appOrigin), realmFile: file, smartClients: SMART_CLIENT_IDS, clientScopes: [AUDIT_SCOPE] });
  return {
    name: 'dev-idp',
    issuer: idp.issuer,
    clientSecret: idp.realm.clients.find((client) => client.clientId === CLIENTS.gateway.clientId)!.secret!,
    followEndSession: async (browser, url, leaveAt) => {
      const step = await browser.navigate(url.href, {}, leaveAt);
      return step.kind === 'page' ? confirmDevIdpSignOut(browser, step, leaveAt) : step;
    },
    updateRealm: async (settings) => idp.updateRealm(settings),
    endUserSessions: (username) => idp.endUserSessions(username),
    setUserEnabled: (username, enabled) => idp.setUserEnabled(username, enabled),
    setRealmRoles: async (username, roles) => idp.setRealmRoles(username, roles),
    stop: () => idp.stop(),
  };
}

async function userId(client: KcAdminClient, username: string): Promise<string> {
  const [user] = await client.users.find({ username, exact: true });
  if (!user?.id) throw new Error(`Keycloak: no user ${username}`);
  return user.id;
}

async function keycloakParts(appOrigin: string): Promise<ProviderParts> {
  const env = realmVariables(appOrigin);
  const keycloak: KeycloakServer = await startKeycloak({
    realmFiles: { 'orthanc-realm.json': JSON.stringify(conformanceRealm(), null, 2) },
    env,
    timeoutMs: 240_000,
  });
  /** A fresh admin session per call: master-realm admin tokens live 60 s, a suite runs longer. */
  const admin = async () => {
    const client = new KcAdminClient({ baseUrl: keycloak.url, realmName: 'master' });
    await client.auth({ grantType: 'password', clientId: 'admin-cli', username: keycloak.adminUsername, password: keycloak.adminPassword });
    client.setConfig({ realmName: 'orthanc' });
    return client;
  };
  try {
    await applySetup(await admin(), { roles: [], clients: [], clientScopes: [smartPatientScope(SMART_CLIENT_IDS, 'patient'), AUDIT_SCOPE] });
  } catch (error) {
    await keycloak.stop();
    throw error;
  }
  return {
    name: 'keycloak',
    issuer: keycloak.issuer,
    clientSecret: env['OIDC_CLIENT_SECRET']!,
    followEndSession: (browser, url, leaveAt) => browser.navigate(url.href, {}, leaveAt),
    updateRealm: async ({ accessTokenLifespan, revokeRefreshToken }) => {
      const client = await admin();
      await client.realms.update(
        { realm: 'orthanc' },
        {
          ...(accessTokenLifespan === undefined ? {} : { accessTokenLifespan }),
          ...(revokeRefreshToken === undefined ? {} : { revokeRefreshToken, refreshTokenMaxReuse: 0 }),
        },
      );
    },
    endUserSessions: async (username) => {
      const client = await admin();
      await client.users.logout({ id: await userId(client, username) });
    },
    setUserEnabled: async (username, enabled) => {
      const client = await admin();
      await client.users.update({ id: await userId(client, username) }, { enabled });
    },
    setRealmRoles: async (username, roles) => {
      const client = await admin();
      const id = await userId(client, username);
      // Only the realm export's own roles change; default-roles-orthanc and the like stay.
      const held = (await client.users.listRealmRoleMappings({ id })).filter((role) => role.name?.startsWith('pacs-'));
      const remove = held.filter((role) => !roles.includes(role.name!));
      const add = await Promise.all(roles.filter((name) => !held.some((role) => role.name === name)).map((name) => client.roles.findOneByName({ name })));
      if (remove.length > 0) await client.users.delRealmRoleMappings({ id, roles: remove.map((role) => ({ id: role.id!, name: role.name! })) });
      if (add.length > 0) await client.users.addRealmRoleMappings({ id, roles: add.map((role) => ({ id: role!.id!, name: role!.name! })) });
    },
    stop: () => keycloak.stop(),
  };
}

/**
 * Starts `name` with the conformance realm, its clients' URLs on `appOrigin` (the gateway's
 * PUBLIC_URL, known before the gateway starts). Keycloak takes ~20-90 s on a busy machine.
 */
export async function startIdentityProvider(name: ProviderName, { appOrigin }: { appOrigin: string }): Promise<IdentityProvider> {
  const parts = name === 'keycloak' ? await keycloakParts(appOrigin) : await devIdpParts(appOrigin);
  const redirectUri = (client: ClientName) => `${appOrigin}${CLIENTS[client].redirectPath}`;
  const password = (username: string) => {
    const value = PASSWORDS[username];
    if (value === undefined) throw new Error(`no user ${username} in the conformance realm`);
    return value;
  };
  const tokens = (username: string, client: ClientName = 'gateway', scope?: string) =>
    signInWithCodeFlow({
      issuer: parts.issuer,
      clientId: CLIENTS[client].clientId,
      clientSecret: client === 'gateway' ? parts.clientSecret : undefined,
      redirectUri: redirectUri(client),
      username,
      password: password(username),
      ...(scope ? { scope } : {}),
    });
  const provider: IdentityProvider = {
    name: parts.name,
    issuer: parts.issuer,
    discoveryUrl: parts.issuer,
    clientId: CLIENTS.gateway.clientId,
    clientSecret: parts.clientSecret,
    passwords: PASSWORDS,
    gatewayEnv: () => ({
      OIDC_ISSUER: parts.issuer,
      OIDC_DISCOVERY_URL: parts.issuer,
      OIDC_CLIENT_ID: CLIENTS.gateway.clientId,
      OIDC_CLIENT_SECRET: parts.clientSecret,
    }),
    signInWithForm: (browser, url, username, leaveAt) => browser.login(url, username, password(username), leaveAt),
    followEndSession: parts.followEndSession,
    tokens,
    accessToken: async (username, client) => (await tokens(username, client)).access_token,
    updateRealm: parts.updateRealm,
    setAccessTokenLifespan: (seconds) => parts.updateRealm({ accessTokenLifespan: seconds }),
    endUserSessions: parts.endUserSessions,
    setUserEnabled: parts.setUserEnabled,
    setRealmRoles: parts.setRealmRoles,
    stop: parts.stop,
  };
  return provider;
}
