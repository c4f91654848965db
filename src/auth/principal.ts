import type { JWTPayload } from 'jose';
import type { SmartConfig } from '../config/config.js';
import { imagingGrants, type ImagingGrants } from '../policy/smart-scopes.js';

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
  /** Set for the holder of a drop-box link: may send studies, read nothing. */
  dropBox?: true;
  /** A share link's recipient or drop-box holder: the user who created the link (for the audit trail). */
  sharedBy?: { sub: string; username: string };
  /**
   * Values of the per-study access claim (STUDY_ACCESS_CLAIM), read only when that is configured;
   * empty when the token lacks the claim.
   */
  studyAccess?: string[];
  /** The app the token was issued to (`azp`, or an introspection answer's `client_id`). */
  clientId?: string;
  /**
   * Set when the app is governed by SMART scopes (SMART_CLIENTS): what its scopes grant on imaging
   * studies, and the DICOM Patient IDs of its patient context (SMART_PATIENT_CLAIM; empty: none).
   */
  smart?: { grants: ImagingGrants; patient: string[] };
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

/** The SMART part of a principal, for a token issued to one of the SMART_CLIENTS. */
function smartGrant(claims: JWTPayload, clientId: string | undefined, smart: Pick<SmartConfig, 'clients' | 'patientClaim'> | undefined): Pick<Principal, 'smart'> {
  if (!smart || clientId === undefined || !smart.clients.includes(clientId)) return {};
  const scope = asString(claims['scope']) ?? '';
  return { smart: { grants: imagingGrants(scope), patient: claimValues(claims, smart.patientClaim).filter((id) => id.trim() !== '') } };
}

export function principalFromClaims(
  claims: JWTPayload,
  via: Principal['via'],
  rolesClient: string | undefined,
  studyAccessClaim?: string,
  smart?: Pick<SmartConfig, 'clients' | 'patientClaim'>,
): Principal {
  const sub = asString(claims.sub);
  if (!sub) throw new TypeError('token has no subject');
  const clientId = asString(claims['azp']) ?? asString(claims['client_id']);
  return {
    sub,
    username: asString(claims['preferred_username']) ?? sub,
    name: asString(claims['name']),
    email: asString(claims['email']),
    roles: rolesFromClaims(claims, rolesClient),
    via,
    expiresAt: typeof claims.exp === 'number' ? claims.exp : 0,
    ...(studyAccessClaim ? { studyAccess: claimValues(claims, studyAccessClaim) } : {}),
    ...(clientId ? { clientId } : {}),
    ...smartGrant(claims, clientId, smart),
  };
}
