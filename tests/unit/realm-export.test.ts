/**
 * realm-export/orthanc-realm.json is what Keycloak 26 imports (`--import-realm`) and what the dev IdP
 * is seeded from. Its shape is checked against Keycloak's own types at compile time (`tsc` fails on
 * an unknown key or a wrong value type), its content against issue 3 and the gateway's defaults here.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import type RealmRepresentation from '@keycloak/keycloak-admin-client/lib/defs/realmRepresentation.js';
import type ClientRepresentation from '@keycloak/keycloak-admin-client/lib/defs/clientRepresentation.js';
import type UserRepresentation from '@keycloak/keycloak-admin-client/lib/defs/userRepresentation.js';
import type CredentialRepresentation from '@keycloak/keycloak-admin-client/lib/defs/credentialRepresentation.js';
import type ProtocolMapperRepresentation from '@keycloak/keycloak-admin-client/lib/defs/protocolMapperRepresentation.js';
import type RoleRepresentation from '@keycloak/keycloak-admin-client/lib/defs/roleRepresentation.js';
import type GroupRepresentation from '@keycloak/keycloak-admin-client/lib/defs/groupRepresentation.js';
import { envSchema } from '../../src/config/schema.js';
import { resolvePlaceholders } from '../../src/devidp/placeholders.js';

// ---- compile-time shape check -------------------------------------------------------------------
/** The type TypeScript infers for the JSON file itself (type-only: nothing is imported at runtime). */
type RealmJson = typeof import('../../realm-export/orthanc-realm.json', { with: { type: 'json' } });
type Elem<T> = T extends readonly (infer E)[] ? E : never;
/** All keys of every member of a union (the JSON's arrays infer as unions of their elements). */
type Keys<T> = T extends unknown ? keyof T : never;
/** Keys present in the JSON that Keycloak's representation does not know: must be `never`. */
type UnknownKeys<Actual, Known> = Exclude<Keys<Actual>, keyof Known>;
type NoUnknownKeys<T extends never> = T;

type ClientJson = Elem<RealmJson['clients']>;
type UserJson = Elem<RealmJson['users']>;
export type ShapeChecks = [
  NoUnknownKeys<UnknownKeys<RealmJson, RealmRepresentation>>,
  NoUnknownKeys<UnknownKeys<ClientJson, ClientRepresentation>>,
  NoUnknownKeys<UnknownKeys<Elem<ClientJson['protocolMappers']>, ProtocolMapperRepresentation>>,
  NoUnknownKeys<UnknownKeys<UserJson, UserRepresentation>>,
  NoUnknownKeys<UnknownKeys<Elem<UserJson['credentials']>, CredentialRepresentation>>,
  NoUnknownKeys<UnknownKeys<Elem<RealmJson['roles']['realm']>, RoleRepresentation>>,
  NoUnknownKeys<UnknownKeys<Elem<RealmJson['groups']>, GroupRepresentation>>,
];

const json = JSON.parse(readFileSync(new URL('../../realm-export/orthanc-realm.json', import.meta.url), 'utf8')) as RealmJson;
/** Value types of every known key are checked by this assignment. */
const raw: RealmRepresentation = json;
/** What a Keycloak import without any of the placeholder variables set (and the dev IdP) sees. */
const realm = resolvePlaceholders(raw) as RealmRepresentation;

// ---- the gateway's defaults (src/config/schema.ts, CONTRACT.md) --------------------------------------
const defaults = envSchema.parse({ OIDC_ISSUER: 'http://localhost:8081/realms/orthanc', ORTHANC_USERNAME: 'u', ORTHANC_PASSWORD: 'p' });
const ROLES = [defaults.ROLE_VIEWER, defaults.ROLE_UPLOADER, defaults.ROLE_ADMIN];
const APP_ORIGIN = new URL(defaults.PUBLIC_URL).origin;

function client(clientId: string): ClientRepresentation {
  const found = realm.clients?.find((c) => c.clientId === clientId);
  if (!found) throw new Error(`client ${clientId} missing`);
  return found;
}

function user(username: string): UserRepresentation {
  const found = realm.users?.find((u) => u.username === username);
  if (!found) throw new Error(`user ${username} missing`);
  return found;
}

function audienceMappers(c: ClientRepresentation): ProtocolMapperRepresentation[] {
  return (c.protocolMappers ?? []).filter((m) => m.protocolMapper === 'oidc-audience-mapper');
}

function groupMappers(c: ClientRepresentation): ProtocolMapperRepresentation[] {
  return (c.protocolMappers ?? []).filter((m) => m.protocolMapper === 'oidc-group-membership-mapper');
}

const attr = (c: ClientRepresentation, name: string): unknown => c.attributes?.[name];

describe('realm export', () => {
  it('matches the gateway defaults and the contract', () => {
    expect(ROLES).toEqual(['pacs-viewer', 'pacs-uploader', 'pacs-admin']);
    expect(defaults.OIDC_CLIENT_ID).toBe('orthanc-gateway');
    expect(defaults.OIDC_AUDIENCE).toBe('orthanc-gateway');
    expect(defaults.PUBLIC_URL).toBe('http://localhost:8080');
  });

  it('defines realm orthanc with the three realm roles and sensible lifespans', () => {
    expect(realm.realm).toBe('orthanc');
    expect(realm.enabled).toBe(true);
    expect((realm.roles?.realm ?? []).map((r) => r.name).sort()).toEqual([...ROLES].sort());
    expect(realm.accessTokenLifespan).toBe(300);
    expect(realm.ssoSessionIdleTimeout).toBeLessThanOrEqual(defaults.SESSION_IDLE_SECONDS);
    expect(realm.ssoSessionMaxLifespan).toBeLessThanOrEqual(defaults.SESSION_MAX_SECONDS);
    expect(realm.registrationAllowed).toBe(false);
  });

  it('has exactly the two clients', () => {
    expect((realm.clients ?? []).map((c) => c.clientId).sort()).toEqual(['ohif-viewer', 'orthanc-gateway']);
  });

  it('makes orthanc-gateway a confidential, standard-flow-only client with PKCE S256', () => {
    const gw = client(defaults.OIDC_CLIENT_ID);
    expect(gw.enabled).toBe(true);
    expect(gw.protocol).toBe('openid-connect');
    expect(gw.publicClient).toBe(false);
    expect(gw.bearerOnly).toBe(false);
    expect(gw.clientAuthenticatorType).toBe('client-secret');
    expect(typeof gw.secret).toBe('string');
    expect(gw.secret?.length).toBeGreaterThanOrEqual(32);
    expect(gw.standardFlowEnabled).toBe(true);
    expect(gw.implicitFlowEnabled).toBe(false);
    expect(gw.directAccessGrantsEnabled).toBe(false);
    expect(gw.serviceAccountsEnabled).toBe(false);
    expect(attr(gw, 'pkce.code.challenge.method')).toBe('S256');
  });

  it('registers the gateway callback exactly, without wildcards', () => {
    const gw = client(defaults.OIDC_CLIENT_ID);
    expect(gw.redirectUris).toEqual([`${defaults.PUBLIC_URL}/auth/callback`]);
    expect(gw.redirectUris).toEqual(['http://localhost:8080/auth/callback']);
  });

  it('configures back-channel logout (not front-channel) and the post-logout redirect for the gateway', () => {
    const gw = client(defaults.OIDC_CLIENT_ID);
    expect(gw.frontchannelLogout).toBe(false);
    expect(attr(gw, 'backchannel.logout.url')).toBe(`${APP_ORIGIN}/auth/backchannel-logout`);
    expect(String(attr(gw, 'backchannel.logout.session.required'))).toBe('true');
    expect(String(attr(gw, 'post.logout.redirect.uris')).split('##')).toEqual([`${APP_ORIGIN}/auth/signed-out`]);
  });

  it('takes the gateway client secret and back-channel logout URL from Keycloak import placeholders (docker-compose sets them)', () => {
    const gw = raw.clients?.find((c) => c.clientId === defaults.OIDC_CLIENT_ID);
    expect(gw?.secret).toBe('${OIDC_CLIENT_SECRET:dev-only-orthanc-gateway-secret-change-me}');
    expect(attr(gw!, 'backchannel.logout.url')).toBe('${GATEWAY_BACKCHANNEL_LOGOUT_URL:http://localhost:8080/auth/backchannel-logout}');
    const variables = (JSON.stringify(raw).match(/\$\{[^}:]*/g) ?? []).map((p) => p.slice(2));
    // Nothing else varies per deployment.
    expect([...new Set(variables)].sort()).toEqual(['GATEWAY_BACKCHANNEL_LOGOUT_URL', 'GATEWAY_PUBLIC_URL', 'OIDC_CLIENT_SECRET']);

    const composed = resolvePlaceholders(raw, { OIDC_CLIENT_SECRET: 'from-env', GATEWAY_BACKCHANNEL_LOGOUT_URL: 'http://gateway:8080/auth/backchannel-logout' }) as RealmRepresentation;
    const composedGateway = composed.clients?.find((c) => c.clientId === defaults.OIDC_CLIENT_ID);
    expect(composedGateway?.secret).toBe('from-env');
    expect(attr(composedGateway!, 'backchannel.logout.url')).toBe('http://gateway:8080/auth/backchannel-logout');
  });

  it("writes every URL of the gateway's origin as ${GATEWAY_PUBLIC_URL:http://localhost:8080}, the default PUBLIC_URL", () => {
    const text = JSON.stringify(raw);
    const literal = text.replaceAll(`\${GATEWAY_PUBLIC_URL:${defaults.PUBLIC_URL}}`, '').replaceAll(`\${GATEWAY_BACKCHANNEL_LOGOUT_URL:${APP_ORIGIN}/auth/backchannel-logout}`, '');
    expect(literal).not.toMatch(/\/\/localhost/);
    expect(text.split('${GATEWAY_PUBLIC_URL:').length - 1).toBe(8); // rootUrl, redirect URIs, web origin, post-logout URIs of both clients
  });

  it('takes redirect URIs, web origins and post-logout URIs of both clients from GATEWAY_PUBLIC_URL when set', () => {
    const elsewhere = resolvePlaceholders(raw, { GATEWAY_PUBLIC_URL: 'https://pacs.example.org' }) as RealmRepresentation;
    const of = (clientId: string) => elsewhere.clients!.find((c) => c.clientId === clientId)!;
    expect(of('orthanc-gateway').redirectUris).toEqual(['https://pacs.example.org/auth/callback']);
    expect(attr(of('orthanc-gateway'), 'post.logout.redirect.uris')).toBe('https://pacs.example.org/auth/signed-out');
    expect(of('ohif-viewer').redirectUris).toEqual(['https://pacs.example.org/callback', 'https://pacs.example.org/silent-refresh.html']);
    expect(of('ohif-viewer').webOrigins).toEqual(['https://pacs.example.org']);
    expect(attr(of('ohif-viewer'), 'post.logout.redirect.uris')).toBe('https://pacs.example.org/');
    for (const c of elsewhere.clients ?? []) expect(c.rootUrl).toBe('https://pacs.example.org');
    // Its own variable: in docker-compose Keycloak reaches the gateway by its service name.
    expect(attr(of('orthanc-gateway'), 'backchannel.logout.url')).toBe(`${APP_ORIGIN}/auth/backchannel-logout`);
  });

  it('makes ohif-viewer a public client with PKCE S256, exact OHIF callbacks and one web origin', () => {
    const ohif = client('ohif-viewer');
    expect(ohif.enabled).toBe(true);
    expect(ohif.publicClient).toBe(true);
    expect(ohif.secret).toBeUndefined();
    expect(ohif.standardFlowEnabled).toBe(true);
    expect(ohif.implicitFlowEnabled).toBe(false);
    expect(ohif.directAccessGrantsEnabled).toBe(false);
    expect(attr(ohif, 'pkce.code.challenge.method')).toBe('S256');
    expect([...(ohif.redirectUris ?? [])].sort()).toEqual([
      `${APP_ORIGIN}/callback`,
      `${APP_ORIGIN}/silent-refresh.html`,
    ]);
    expect(ohif.webOrigins).toEqual([APP_ORIGIN]);
  });

  it('uses no wildcard and no "+" shortcut in any client URL', () => {
    for (const c of realm.clients ?? []) {
      for (const uri of [...(c.redirectUris ?? []), ...(c.webOrigins ?? [])]) {
        expect(uri).not.toMatch(/[*+]/);
        expect(() => new URL(uri)).not.toThrow();
      }
    }
  });

  it.each(['orthanc-gateway', 'ohif-viewer'])('puts the gateway audience into %s access tokens', (clientId) => {
    const mappers = audienceMappers(client(clientId));
    expect(mappers).toHaveLength(1);
    const config = mappers[0]?.config ?? {};
    expect(mappers[0]?.protocol).toBe('openid-connect');
    expect(config['included.client.audience'] ?? config['included.custom.audience']).toBe(defaults.OIDC_AUDIENCE);
    expect(String(config['access.token.claim'])).toBe('true');
  });

  it('defines one top-level group per institution of the sample and test studies', () => {
    const groups: GroupRepresentation[] = realm.groups ?? [];
    expect(groups.map((g) => [g.name, g.path, g.subGroups])).toEqual([
      ['Hospital A', '/Hospital A', []],
      ['Hospital B', '/Hospital B', []],
    ]);
  });

  it.each(['orthanc-gateway', 'ohif-viewer'])('puts group names into %s access tokens as "groups" (STUDY_ACCESS_CLAIM=groups)', (clientId) => {
    const mappers = groupMappers(client(clientId));
    expect(mappers).toHaveLength(1);
    expect(mappers[0]?.protocol).toBe('openid-connect');
    expect(mappers[0]?.config).toMatchObject({
      'claim.name': 'groups',
      'full.path': 'false',
      'access.token.claim': 'true',
      'id.token.claim': 'false',
      'userinfo.token.claim': 'false',
    });
  });

  it.each([
    ['admin', ['pacs-admin', 'pacs-uploader', 'pacs-viewer'], []],
    ['uploader', ['pacs-uploader', 'pacs-viewer'], []],
    ['viewer', ['pacs-viewer'], []],
    ['norole', [], []],
    ['viewer-a', ['pacs-viewer'], ['/Hospital A']],
    ['viewer-b', ['pacs-viewer'], ['/Hospital B']],
    ['patient', [], []],
  ])('defines dev user %s with roles %j, groups %j and a non-temporary password', (username, roles, groups) => {
    const u = user(username);
    expect(u.enabled).toBe(true);
    expect(u.emailVerified).toBe(true);
    expect(u.email).toMatch(/^[^@\s]+@[^@\s]+\.[^@\s]+$/);
    expect(u.firstName).toBeTruthy();
    expect(u.lastName).toBeTruthy();
    expect(u.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect([...(u.realmRoles ?? [])].sort()).toEqual([...roles].sort());
    expect(u.groups ?? []).toEqual(groups);
    expect(u.credentials).toHaveLength(1);
    const [credential] = u.credentials ?? [];
    expect(credential?.type).toBe('password');
    expect(credential?.temporary).toBe(false);
    expect(credential?.value).toBe(`${username}-dev-password`);
  });

  it('gives the patient account (SMART patient context) the Patient ID of the sample CT in patient_id, and nobody else one', () => {
    expect(user('patient').attributes).toEqual({ patient_id: ['DEV-CT-1'] });
    for (const u of (realm.users ?? []).filter((other) => other.username !== 'patient')) expect(u.attributes).toBeUndefined();
  });

  it('has exactly the seven dev users, each with only realm roles and groups that exist', () => {
    expect((realm.users ?? []).map((u) => u.username).sort()).toEqual(['admin', 'norole', 'patient', 'uploader', 'viewer', 'viewer-a', 'viewer-b']);
    const groupPaths = (realm.groups ?? []).map((g) => g.path);
    for (const u of realm.users ?? []) {
      for (const role of u.realmRoles ?? []) expect(ROLES).toContain(role);
      for (const group of u.groups ?? []) expect(groupPaths).toContain(group);
    }
    const ids = (realm.users ?? []).map((u) => u.id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
