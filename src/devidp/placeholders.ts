/**
 * Keycloak's `${VAR}` / `${VAR:default}` placeholders in realm files, resolved the way its realm
 * import does: in every string value, from `env`, else the default after the first `:`. The realm
 * export uses them for what differs between deployments (docker-compose sets them on Keycloak);
 * the dev IdP resolves them with their defaults.
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
