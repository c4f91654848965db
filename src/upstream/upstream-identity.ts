import type { Principal } from '../auth/principal.js';

/**
 * Who the gateway is towards Orthanc for one request: which Orthanc user (HTTP Basic) and, when
 * enabled, which identity headers an Orthanc Lua `IncomingHttpRequestFilter` can read. Computed
 * from the authenticated principal only, never from anything the client sent.
 */

/** An Orthanc credential, with its `Authorization: Basic …` value computed once at start. */
export interface OrthancCredential {
  /** For error messages (no user name, no password): "service credential" or the role it belongs to. */
  label: string;
  authorization: string;
}

export interface UpstreamIdentityOptions {
  username: string;
  password: string;
  /** `{"<role>": "user:password"}` in configured order: the first role the caller holds wins. */
  credentialsByRole: Record<string, string> | undefined;
  /** Header names for the caller's username and roles; undefined when identity headers are off. */
  identityHeaders: { user: string; roles: string } | undefined;
}

export interface ResolvedIdentity {
  credential: OrthancCredential;
  /** Identity headers to set (name → safe value); empty when forwarding is off. */
  headers: Record<string, string>;
}

export type UpstreamIdentityResolver = (principal: Principal | null | undefined) => ResolvedIdentity;

export function basicAuthorization(userPassword: string): string {
  return `Basic ${Buffer.from(userPassword, 'utf8').toString('base64')}`;
}

/** Pure: the value of the first entry (in the given order) whose role the caller holds, else the fallback. */
export function selectByRole<T>(roles: readonly string[], byRole: ReadonlyArray<readonly [string, T]>, fallback: T): T {
  const held = new Set(roles);
  for (const [role, value] of byRole) if (held.has(role)) return value;
  return fallback;
}

/**
 * Makes an untrusted string safe as an HTTP header value without ever merging two different
 * inputs into one: visible ASCII passes unchanged; `%`, the `reserved` characters and everything
 * else (CR, LF, NUL, other controls, spaces, non-ASCII) is percent-encoded as UTF-8. Stripping
 * instead would let `admin\u0000` arrive as `admin`.
 */
export function encodeHeaderValue(value: string, reserved = ''): string {
  let encoded = '';
  for (const char of value) {
    const code = char.codePointAt(0) ?? 0;
    if (code >= 0x21 && code <= 0x7e && char !== '%' && !reserved.includes(char)) {
      encoded += char;
      continue;
    }
    // Buffer.from replaces a lone surrogate with U+FFFD instead of throwing like encodeURIComponent.
    for (const byte of Buffer.from(char, 'utf8')) encoded += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return encoded;
}

/** The username and comma-separated roles as header values (`,` inside a role name is encoded). */
export function identityHeaderValues(principal: Pick<Principal, 'username' | 'roles'>): { user: string; roles: string } {
  return {
    user: encodeHeaderValue(principal.username),
    roles: principal.roles.map((role) => encodeHeaderValue(role, ',')).join(','),
  };
}

/** Precomputes every Orthanc credential once; the returned resolver only selects per request. */
export function createUpstreamIdentity(options: UpstreamIdentityOptions): UpstreamIdentityResolver {
  const service: OrthancCredential = {
    label: 'service credential',
    authorization: basicAuthorization(`${options.username}:${options.password}`),
  };
  const byRole = Object.entries(options.credentialsByRole ?? {}).map(
    ([role, userPassword]) =>
      [role, { label: `credential for role "${role}"`, authorization: basicAuthorization(userPassword) }] as const,
  );
  const names = options.identityHeaders;

  return (principal) => {
    const credential = principal ? selectByRole(principal.roles, byRole, service) : service;
    if (!names || !principal) return { credential, headers: {} };
    const values = identityHeaderValues(principal);
    return { credential, headers: { [names.user]: values.user, [names.roles]: values.roles } };
  };
}
