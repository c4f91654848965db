/**
 * Claims shaped like Keycloak 26's for a realm user, so that code tested against the dev IdP reads
 * real Keycloak tokens the same way. Keycloak's default client scopes (profile, email, roles,
 * web-origins, acr) always apply, whatever scope was requested.
 */
import type { DevClient, DevUser } from './realm.js';

/** `profile` + `email` scope claims (also what the userinfo endpoint returns). */
export function profileClaims(user: DevUser): Record<string, unknown> {
  const name = [user.firstName, user.lastName].filter(Boolean).join(' ');
  return {
    preferred_username: user.username,
    ...(name ? { name } : {}),
    ...(user.firstName ? { given_name: user.firstName } : {}),
    ...(user.lastName ? { family_name: user.lastName } : {}),
    ...(user.email ? { email: user.email, email_verified: user.emailVerified } : {}),
  };
}

/** Keycloak leaves `realm_access` / `resource_access` out when the user has no such role. */
function roleClaims(user: DevUser): Record<string, unknown> {
  const resourceAccess = Object.fromEntries(
    Object.entries(user.clientRoles)
      .filter(([, roles]) => roles.length > 0)
      .map(([clientId, roles]) => [clientId, { roles }]),
  );
  return {
    ...(user.realmRoles.length > 0 ? { realm_access: { roles: [...user.realmRoles] } } : {}),
    ...(Object.keys(resourceAccess).length > 0 ? { resource_access: resourceAccess } : {}),
  };
}

/**
 * Keycloak's group membership mappers: direct memberships only, as names or full paths; a user
 * without groups gets no claim.
 */
function groupClaims(user: DevUser, client: DevClient): Record<string, unknown> {
  if (user.groups.length === 0) return {};
  const values = (fullPath: boolean) => user.groups.map((path) => (fullPath ? path : path.slice(path.lastIndexOf('/') + 1)));
  return Object.fromEntries(client.groupClaims.map(({ claim, fullPath }) => [claim, values(fullPath)]));
}

/**
 * Claims added to the JWT access token next to those oidc-provider sets itself
 * (iss, sub, aud, exp, iat, jti, scope).
 */
export function accessTokenClaims(user: DevUser, client: DevClient, sid: string | undefined, authTime?: number): Record<string, unknown> {
  return {
    ...(authTime ? { auth_time: authTime } : {}),
    typ: 'Bearer',
    azp: client.clientId,
    ...(sid ? { sid } : {}),
    acr: '1',
    ...(client.webOrigins.length > 0 ? { 'allowed-origins': [...client.webOrigins] } : {}),
    ...roleClaims(user),
    ...groupClaims(user, client),
    ...profileClaims(user),
  };
}

/** A service account's access token (client credentials grant), as Keycloak's: the client is `azp`, its account `service-account-<clientId>`. */
export function serviceAccountClaims(client: DevClient): Record<string, unknown> {
  return { typ: 'Bearer', azp: client.clientId, preferred_username: `service-account-${client.clientId}`, acr: '1' };
}

/**
 * The `aud` of a client's access tokens: its audience mappers. Like Keycloak, none without one (the
 * client itself is `azp`, not an audience).
 */
export function accessTokenAudience(client: DevClient): string | string[] | undefined {
  const [first, ...rest] = client.audiences;
  if (first === undefined) return undefined;
  return rest.length === 0 ? first : [first, ...rest];
}

/** Claims of the ID token beyond iss/aud/exp/iat/nonce/at_hash, which oidc-provider sets. */
export function idTokenClaims(
  user: DevUser,
  clientId: string | undefined,
  sid: string | undefined,
): { sub: string; [claim: string]: unknown } {
  return {
    sub: user.id,
    typ: 'ID',
    ...(clientId ? { azp: clientId } : {}),
    ...(sid ? { sid } : {}),
    ...profileClaims(user),
  };
}

export function userinfoClaims(user: DevUser): { sub: string; [claim: string]: unknown } {
  return { sub: user.id, ...profileClaims(user) };
}

const PROFILE = ['preferred_username', 'name', 'given_name', 'family_name'];
const EMAIL = ['email', 'email_verified'];

/**
 * The names oidc-provider lets through per scope (its `claims` configuration). Keycloak's profile
 * and email scopes are default scopes, so their claims come with plain `openid` too.
 */
export const SCOPE_CLAIMS = {
  openid: ['sub', 'typ', 'azp', 'sid', ...PROFILE, ...EMAIL],
  profile: PROFILE,
  email: EMAIL,
};
