import type { JWTPayload } from 'jose';

/** Who is calling, derived from a verified Keycloak access token. */
export interface Principal {
  sub: string;
  username: string;
  name: string | undefined;
  email: string | undefined;
  roles: string[];
  via: 'bearer' | 'session' | 'share';
  /** Expiry of the access token the principal was read from, in seconds since the epoch. */
  expiresAt: number;
  /** Set for the recipient of a study share link: read-only access to this one study. */
  studyScope?: string;
  /**
   * Values of the per-study access claim (STUDY_ACCESS_CLAIM), read only when that is configured;
   * empty when the token lacks the claim.
   */
  studyAccess?: string[];
}

const asString = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

function objectField(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

/** Realm roles, plus the roles of one client (`resource_access.<client>.roles`) when configured. */
export function rolesFromClaims(claims: JWTPayload, rolesClient: string | undefined): string[] {
  const realmRoles = stringList(objectField(claims['realm_access'], 'roles'));
  const clientRoles = rolesClient
    ? stringList(objectField(objectField(claims['resource_access'], rolesClient), 'roles'))
    : [];
  return [...new Set([...realmRoles, ...clientRoles])];
}

/** A claim by name or dotted path (`attributes.institution`), as a list of strings: one string, or the strings of an array. */
export function claimValues(claims: JWTPayload, path: string): string[] {
  const value = path.split('.').reduce<unknown>((node, key) => objectField(node, key), claims);
  return typeof value === 'string' ? [value] : stringList(value);
}

export function principalFromClaims(
  claims: JWTPayload,
  via: Principal['via'],
  rolesClient: string | undefined,
  studyAccessClaim?: string,
): Principal {
  const sub = asString(claims.sub);
  if (!sub) throw new TypeError('token has no subject');
  return {
    sub,
    username: asString(claims['preferred_username']) ?? sub,
    name: asString(claims['name']),
    email: asString(claims['email']),
    roles: rolesFromClaims(claims, rolesClient),
    via,
    expiresAt: typeof claims.exp === 'number' ? claims.exp : 0,
    ...(studyAccessClaim ? { studyAccess: claimValues(claims, studyAccessClaim) } : {}),
  };
}
