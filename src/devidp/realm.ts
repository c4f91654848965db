/**
 * Loads a Keycloak realm export (realm-export/orthanc-realm.json) into the typed subset the dev IdP
 * needs. Only what the dev IdP can honour is accepted: a wildcard redirect URI, a temporary password,
 * a role or group that does not exist, a group mapper it cannot apply is an error here rather than a
 * surprise later.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { resolvePlaceholders } from './placeholders.js';

/** An `oidc-group-membership-mapper` that adds to the access token. */
export interface GroupClaimMapper {
  claim: string;
  /** `/Parent/Child` paths instead of group names. */
  fullPath: boolean;
}

export interface DevClient {
  clientId: string;
  public: boolean;
  /** Confidential clients only. */
  secret: string | undefined;
  /** Keycloak's standard flow (authorization code): off for a client that only signs in as itself. */
  standardFlow: boolean;
  /** Keycloak's service account: the client gets tokens for itself (client credentials grant). */
  serviceAccount: boolean;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  /** Exact origins allowed to call the token endpoint from a browser (Keycloak `webOrigins`). */
  webOrigins: string[];
  backchannelLogoutUri: string | undefined;
  backchannelLogoutSessionRequired: boolean;
  /** From `oidc-audience-mapper`s that add to the access token. */
  audiences: string[];
  groupClaims: GroupClaimMapper[];
}

export interface DevUser {
  /** Keycloak user id, the `sub` of every token. */
  id: string;
  username: string;
  enabled: boolean;
  email: string | undefined;
  emailVerified: boolean;
  firstName: string | undefined;
  lastName: string | undefined;
  password: string | undefined;
  realmRoles: string[];
  clientRoles: Record<string, string[]>;
  /** Paths (`/Hospital A`) of the groups the user is a direct member of. */
  groups: string[];
  /** Keycloak user attributes (e.g. `patient_id`), each a list of values. */
  attributes: Record<string, string[]>;
}

/** An `oidc-usermodel-attribute-mapper` that adds to the access token. */
export interface AttributeClaimMapper {
  attribute: string;
  /** A claim name; dots nest, as in Keycloak (`ext.patient` → `{ext: {patient}}`). */
  claim: string;
  /** Off: the first value only, as Keycloak. */
  multivalued: boolean;
}

/** A client scope a client may ask for (Keycloak's optional client scopes), as `setup` creates them. */
export interface DevClientScope {
  name: string;
  /** `include.in.token.scope`: the name appears in the access token's `scope` claim when granted. */
  inTokenScope: boolean;
  attributeClaims: AttributeClaimMapper[];
  /** Client ids it is an optional scope of. */
  optionalOn: string[];
}

export interface DevRealm {
  name: string;
  accessTokenLifespan: number;
  ssoSessionIdleTimeout: number;
  ssoSessionMaxLifespan: number;
  /** Keycloak's refresh-token rotation: a refresh token is single use (refreshTokenMaxReuse 0 only). */
  revokeRefreshToken: boolean;
  roles: string[];
  clients: DevClient[];
  users: DevUser[];
  /** Optional client scopes (none in the realm export; `withClientScopes` adds those `setup` would). */
  clientScopes: DevClientScope[];
}

/** Keycloak writes client attributes and mapper config as strings; accept scalars. */
const scalarRecord = z.record(z.string(), z.union([z.string(), z.boolean(), z.number()]).transform(String));

const clientSchema = z.object({
  clientId: z.string().min(1),
  enabled: z.boolean().default(true),
  bearerOnly: z.boolean().default(false),
  publicClient: z.boolean().default(false),
  secret: z.string().min(1).optional(),
  standardFlowEnabled: z.boolean().default(true),
  serviceAccountsEnabled: z.boolean().default(false),
  redirectUris: z.array(z.string()).default([]),
  webOrigins: z.array(z.string()).default([]),
  attributes: scalarRecord.default({}),
  protocolMappers: z
    .array(z.object({ protocolMapper: z.string(), config: scalarRecord.default({}) }))
    .default([]),
});

const userSchema = z.object({
  id: z.string().min(1).optional(),
  username: z.string().min(1),
  enabled: z.boolean().default(true),
  email: z.string().optional(),
  emailVerified: z.boolean().default(false),
  firstName: z.string().optional(),
  lastName: z.string().optional(),
  credentials: z
    .array(z.object({ type: z.string(), value: z.string().optional(), temporary: z.boolean().default(false) }))
    .default([]),
  realmRoles: z.array(z.string()).default([]),
  clientRoles: z.record(z.string(), z.array(z.string())).default({}),
  groups: z.array(z.string()).default([]),
  attributes: z.record(z.string(), z.array(z.string())).default({}),
});

const groupSchema = z.object({
  name: z.string().min(1),
  get subGroups() {
    return z.array(groupSchema).default([]);
  },
});

const realmSchema = z.object({
  realm: z.string().min(1),
  accessTokenLifespan: z.number().int().positive().default(300),
  ssoSessionIdleTimeout: z.number().int().positive().default(1800),
  ssoSessionMaxLifespan: z.number().int().positive().default(36_000),
  revokeRefreshToken: z.boolean().default(false),
  refreshTokenMaxReuse: z.number().int().nonnegative().default(0),
  roles: z.object({ realm: z.array(z.object({ name: z.string().min(1) })).default([]) }).default({ realm: [] }),
  groups: z.array(groupSchema).default([]),
  clients: z.array(clientSchema).default([]),
  users: z.array(userSchema).default([]),
});

type ClientJson = z.infer<typeof clientSchema>;
type UserJson = z.infer<typeof userSchema>;
type GroupJson = z.infer<typeof groupSchema>;

/** Keycloak's group paths: `/Name`, `/Parent/Child`. */
function groupPaths(groups: GroupJson[], parent = ''): string[] {
  return groups.flatMap((group) => {
    const path = `${parent}/${group.name}`;
    return [path, ...groupPaths(group.subGroups, path)];
  });
}

/** As Keycloak reads mapper switches: only the string "true" turns one on. */
const on = (config: Record<string, string>, key: string) => config[key] === 'true';

function groupClaimMappers(c: ClientJson, where: string): GroupClaimMapper[] {
  const mappers = c.protocolMappers.filter((m) => m.protocolMapper === 'oidc-group-membership-mapper');
  if (mappers.some(({ config }) => on(config, 'id.token.claim') || on(config, 'userinfo.token.claim'))) {
    throw new Error(`${where}: the dev IdP puts groups into access tokens only (set id.token.claim and userinfo.token.claim to "false")`);
  }
  return mappers
    .filter(({ config }) => on(config, 'access.token.claim'))
    .map(({ config }) => {
      const claim = config['claim.name'] ?? '';
      if (!/^[^.\s]+$/.test(claim)) throw new Error(`${where}: group mapper claim.name "${claim}" must be a plain claim name for the dev IdP`);
      return { claim, fullPath: on(config, 'full.path') };
    });
}

function exactUrl(uri: string, where: string): string {
  if (/[*]/.test(uri)) throw new Error(`${where}: wildcard "${uri}" is not supported by the dev IdP`);
  try {
    return new URL(uri).href;
  } catch {
    throw new Error(`${where}: "${uri}" is not an absolute URL`);
  }
}

function toClient(c: ClientJson): DevClient {
  const where = `client ${c.clientId}`;
  if (!c.publicClient && !c.secret) throw new Error(`${where}: a confidential client needs a secret`);
  if (c.publicClient && c.serviceAccountsEnabled) throw new Error(`${where}: a public client cannot have a service account`);
  const redirectUris = c.redirectUris.map((uri) => exactUrl(uri, `${where} redirectUris`));
  // Keycloak: "+" means "the origins of the redirect URIs"; post-logout URIs are "##"-separated.
  const webOrigins = c.webOrigins.flatMap((origin) =>
    origin === '+' ? redirectUris.map((uri) => new URL(uri).origin) : [new URL(exactUrl(origin, `${where} webOrigins`)).origin],
  );
  const postLogout = (c.attributes['post.logout.redirect.uris'] ?? '').split('##').filter(Boolean);
  const postLogoutRedirectUris = postLogout.flatMap((uri) =>
    uri === '+' ? redirectUris : [exactUrl(uri, `${where} post.logout.redirect.uris`)],
  );
  const backchannel = c.attributes['backchannel.logout.url'];
  const audiences = c.protocolMappers
    .filter((m) => m.protocolMapper === 'oidc-audience-mapper' && m.config['access.token.claim'] !== 'false')
    .map((m) => m.config['included.client.audience'] || m.config['included.custom.audience'])
    .filter((aud): aud is string => Boolean(aud));
  return {
    clientId: c.clientId,
    public: c.publicClient,
    secret: c.publicClient ? undefined : c.secret,
    standardFlow: c.standardFlowEnabled,
    serviceAccount: c.serviceAccountsEnabled,
    redirectUris,
    postLogoutRedirectUris,
    webOrigins: [...new Set(webOrigins)],
    backchannelLogoutUri: backchannel ? exactUrl(backchannel, `${where} backchannel.logout.url`) : undefined,
    backchannelLogoutSessionRequired: c.attributes['backchannel.logout.session.required'] !== 'false',
    audiences: [...new Set(audiences)],
    groupClaims: groupClaimMappers(c, where),
  };
}

function toUser(u: UserJson, roles: Set<string>, groups: Set<string>): DevUser {
  const where = `user ${u.username}`;
  const passwords = u.credentials.filter((cred) => cred.type === 'password');
  if (passwords.some((cred) => cred.temporary)) throw new Error(`${where}: temporary passwords are not supported`);
  for (const role of u.realmRoles) {
    if (!roles.has(role)) throw new Error(`${where}: realm role "${role}" is not defined in roles.realm`);
  }
  for (const group of u.groups) {
    if (!groups.has(group)) throw new Error(`${where}: group "${group}" is not defined in groups (a path such as "/Hospital A")`);
  }
  return {
    id: u.id ?? u.username,
    username: u.username.toLowerCase(),
    enabled: u.enabled,
    email: u.email,
    emailVerified: u.emailVerified,
    firstName: u.firstName,
    lastName: u.lastName,
    password: passwords[0]?.value,
    realmRoles: u.realmRoles,
    clientRoles: u.clientRoles,
    groups: u.groups,
    attributes: u.attributes,
  };
}

/** Validates parsed realm JSON; throws an Error naming every problem zod found, or the first semantic one. */
export function parseRealm(json: unknown): DevRealm {
  const parsed = realmSchema.safeParse(json);
  if (!parsed.success) {
    throw new Error(`invalid realm export:\n${z.prettifyError(parsed.error)}`);
  }
  const r = parsed.data;
  if (r.revokeRefreshToken && r.refreshTokenMaxReuse > 0) {
    throw new Error('invalid realm export: the dev IdP rotates refresh tokens with refreshTokenMaxReuse 0 only');
  }
  const roles = r.roles.realm.map((role) => role.name);
  const groups = new Set(groupPaths(r.groups));
  const users = r.users.map((u) => toUser(u, new Set(roles), groups));
  for (const key of ['id', 'username'] as const) {
    const values = users.map((u) => u[key]);
    if (new Set(values).size !== values.length) throw new Error(`invalid realm export: duplicate user ${key}`);
  }
  return {
    name: r.realm,
    accessTokenLifespan: r.accessTokenLifespan,
    ssoSessionIdleTimeout: r.ssoSessionIdleTimeout,
    ssoSessionMaxLifespan: r.ssoSessionMaxLifespan,
    revokeRefreshToken: r.revokeRefreshToken,
    roles,
    // Clients that can neither take part in a browser login nor get tokens for themselves are left out.
    clients: r.clients.filter((c) => c.enabled && !c.bearerOnly && (c.standardFlowEnabled || c.serviceAccountsEnabled)).map(toClient),
    users,
    clientScopes: [],
  };
}

/** realm-export/orthanc-realm.json, found from this file whether it runs from src/ or dist/. */
export function defaultRealmFile(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i += 1) {
    const candidate = join(dir, 'realm-export', 'orthanc-realm.json');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error('realm-export/orthanc-realm.json not found; pass realmFile');
}

/** Reads a realm export, its `${VAR:default}` placeholders resolved from `env` as Keycloak's import does. */
export function loadRealm(file: string = defaultRealmFile(), env: Record<string, string | undefined> = {}): DevRealm {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`cannot read realm export ${file}: ${(error as Error).message}`);
  }
  return parseRealm(resolvePlaceholders(json, env));
}

export function findClient(realm: DevRealm, clientId: string): DevClient | undefined {
  return realm.clients.find((c) => c.clientId === clientId);
}

/** Login by username (case-insensitive, as Keycloak) or email. */
export function findUserByLogin(realm: DevRealm, login: string): DevUser | undefined {
  const wanted = login.trim().toLowerCase();
  return realm.users.find((u) => u.username === wanted || u.email?.toLowerCase() === wanted);
}

export function findUserById(realm: DevRealm, id: string): DevUser | undefined {
  return realm.users.find((u) => u.id === id);
}
