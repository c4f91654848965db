import type ClientRepresentation from '@keycloak/keycloak-admin-client/lib/defs/clientRepresentation.js';
import type ClientScopeRepresentation from '@keycloak/keycloak-admin-client/lib/defs/clientScopeRepresentation.js';
import type ProtocolMapperRepresentation from '@keycloak/keycloak-admin-client/lib/defs/protocolMapperRepresentation.js';
import type RealmRepresentation from '@keycloak/keycloak-admin-client/lib/defs/realmRepresentation.js';
import type { AdminClient } from './admin-connection.js';

export interface ClientSnapshot {
  representation: ClientRepresentation;
  /** The client's own mappers and those of its default client scopes (both shape its access tokens). */
  mappers: ProtocolMapperRepresentation[];
  /** The client scopes an app of this client may ask for (optional and default), with their mappers. */
  scopes?: ScopeSnapshot[];
}

export interface ScopeSnapshot {
  name: string;
  /** `include.in.token.scope`: whether the scope's name appears in the token's `scope` claim. */
  inTokenScope: boolean;
  mappers: ProtocolMapperRepresentation[];
}

/** What `doctor` reads from a realm; its checks are pure functions over this. */
export interface RealmSnapshot {
  realm: Pick<RealmRepresentation, 'realm' | 'accessTokenLifespan' | 'revokeRefreshToken' | 'refreshTokenMaxReuse' | 'ssoSessionIdleTimeout'>;
  roles: string[];
  /** By clientId; absent when the realm has no such client. */
  clients: Record<string, ClientSnapshot | undefined>;
}

async function readClient(admin: AdminClient, clientId: string): Promise<ClientSnapshot | undefined> {
  const [representation] = await admin.clients.find({ clientId });
  if (!representation?.id) return undefined;
  const id = representation.id;
  const own = await admin.clients.listProtocolMappers({ id });
  const scopes = await admin.clients.listDefaultClientScopes({ id });
  const fromScopes = await Promise.all(scopes.map((scope) => admin.clientScopes.listProtocolMappers({ id: scope.id! })));
  return { representation, mappers: [...own, ...fromScopes.flat()], scopes: await readScopes(admin, [...scopes, ...await admin.clients.listOptionalClientScopes({ id })]) };
}

function readScopes(admin: AdminClient, scopes: ClientScopeRepresentation[]): Promise<ScopeSnapshot[]> {
  return Promise.all(scopes.map(async ({ id }) => {
    // A client's scope lists carry ids and names only.
    const scope = await admin.clientScopes.findOne({ id: id! });
    return {
      name: scope?.name ?? '',
      // Keycloak's default for a scope without the attribute is "true".
      inTokenScope: scope?.attributes?.['include.in.token.scope'] !== 'false',
      mappers: await admin.clientScopes.listProtocolMappers({ id: id! }),
    };
  }));
}

export async function readSnapshot(admin: AdminClient, clientIds: string[]): Promise<RealmSnapshot> {
  const realmName = admin.realmName;
  const realm = await admin.realms.findOne({ realm: realmName });
  if (!realm) throw new Error(`realm "${realmName}" does not exist`);
  const roles = (await admin.roles.find()).map((role) => role.name!);
  const clients: RealmSnapshot['clients'] = {};
  for (const clientId of clientIds) clients[clientId] = await readClient(admin, clientId);
  const { accessTokenLifespan, revokeRefreshToken, refreshTokenMaxReuse, ssoSessionIdleTimeout } = realm;
  return { realm: { realm: realmName, accessTokenLifespan, revokeRefreshToken, refreshTokenMaxReuse, ssoSessionIdleTimeout }, roles, clients };
}
