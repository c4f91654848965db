/**
 * Keycloak's `${VAR}` / `${VAR:default}` placeholders in realm files, resolved the way its realm
 * import does: in every string value, from `env`, else the default after the first `:`. The realm
 * export uses them for what differs between deployments (docker-compose sets them on Keycloak);
 * the dev IdP resolves them from the same variables, or with their defaults.
 */
const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}/g;

function resolveString(text: string, env: Record<string, string | undefined>): string {
  return text.replace(PLACEHOLDER, (_match, name: string, fallback: string | undefined) => {
    const value = env[name] ?? fallback;
    if (value === undefined) throw new Error(`realm export: \${${name}} has no default and ${name} is not set`);
    return value;
  });
}

/** A copy of parsed realm JSON with every placeholder replaced. */
export function resolvePlaceholders(json: unknown, env: Record<string, string | undefined> = {}): unknown {
  if (typeof json === 'string') return resolveString(json, env);
  if (Array.isArray(json)) return json.map((item) => resolvePlaceholders(item, env));
  if (json !== null && typeof json === 'object') {
    return Object.fromEntries(Object.entries(json).map(([key, value]) => [key, resolvePlaceholders(value, env)]));
  }
  return json;
}

/**
 * The realm export's variables for a gateway at `publicUrl` (its PUBLIC_URL, an origin): the
 * clients' redirect URIs, web origins and post-logout URIs (GATEWAY_PUBLIC_URL) and the
 * back-channel logout URL. Keycloak gets them as its environment, the dev IdP as `realmEnv`.
 */
export function gatewayRealmVariables(publicUrl: string): Record<string, string> {
  const origin = new URL(publicUrl).origin;
  if (publicUrl.replace(/\/$/, '') !== origin) throw new Error(`GATEWAY_PUBLIC_URL must be an origin without a path, not "${publicUrl}"`);
  return { GATEWAY_PUBLIC_URL: origin, GATEWAY_BACKCHANNEL_LOGOUT_URL: `${origin}/auth/backchannel-logout` };
}
