import { z } from 'zod';
import { BLOCKED_ENDPOINT_NAMES } from '../policy/blocked.js';

/** Booleans and integers parsed by hand so a bad value never stops the cross-variable checks below. */
const bool = z.string().transform((value, ctx) => {
  const normalized = value.trim().toLowerCase();
  if (['true', '1', 'yes'].includes(normalized)) return true;
  if (['false', '0', 'no'].includes(normalized)) return false;
  ctx.addIssue({ code: 'custom', message: 'must be true or false' });
  return z.NEVER;
});
const integer = (message: string, isValid: (value: number) => boolean) =>
  z.string().transform((value, ctx) => {
    const parsed = /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
    if (isValid(parsed)) return parsed;
    ctx.addIssue({ code: 'custom', message });
    return z.NEVER;
  });
const port = integer('must be a port number (0-65535)', (value) => value >= 0 && value <= 65535);
const positiveInt = integer('must be a positive integer', (value) => Number.isSafeInteger(value) && value > 0);
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });
const commaList = z
  .string()
  .transform((value) => value.split(',').map((item) => item.trim()).filter(Boolean));
/** `host:port` items of a comma list (an IPv6 host in brackets: `[::1]:26379`). */
const hostPortList = commaList.transform((items, ctx) => {
  const nodes = items.map((item) => {
    const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9_.-]+)):(\d{1,5})$/.exec(item);
    const port = Number(match?.[3]);
    return match && port >= 1 && port <= 65535 ? { host: match[1] ?? match[2]!, port } : undefined;
  });
  if (nodes.length > 0 && nodes.every((node) => node !== undefined)) return nodes as Array<{ host: string; port: number }>;
  ctx.addIssue({ code: 'custom', message: 'must be a comma list of host:port' });
  return z.NEVER;
});
/** Where audit messages go by syslog: `tls://host:port` (RFC 5425), `tcp://…` or `udp://…` (labs). */
const syslogUrl = z
  .url({ protocol: /^(tls|tcp|udp)$/, error: 'must be tls://host:port, tcp://host:port or udp://host:port' })
  .refine((value) => new URL(value).port !== '', 'must name a port (e.g. tls://audit.example.org:6514)');
/** Names of blocked-endpoint rules (src/policy/blocked.ts) an operator opens to admins. */
const blockedEndpointNames = commaList.transform((items, ctx) => {
  const unknown = items.filter((item) => !BLOCKED_ENDPOINT_NAMES.includes(item));
  if (unknown.length === 0) return items;
  ctx.addIssue({ code: 'custom', message: `unknown endpoint name(s) ${unknown.join(', ')}; known names: ${BLOCKED_ENDPOINT_NAMES.join(', ')}` });
  return z.NEVER;
});
const roleName = z.string().regex(/^[\w.:-]+$/, 'must be a role name (letters, digits, _ . : -)');
const credentialsByRole = z
  .string()
  .transform((value, ctx) => {
    try {
      return JSON.parse(value) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON object' });
      return z.NEVER;
    }
  })
  .pipe(
    z.record(
      // JSON.parse moves integer-like keys to the front, which would break "first matching role wins".
      z.string().regex(/\D/, 'role names must not be plain numbers'),
      z.string().regex(/^[^:]+:.+$/, 'values must be "user:password"'),
    ),
  );
/** Headers the gateway forwards or sets itself: an identity header must not reuse one of them. */
const RESERVED_HEADERS = new Set([
  'accept', 'accept-language', 'authorization', 'cache-control', 'connection', 'content-length', 'content-type',
  'cookie', 'expect', 'forwarded', 'host', 'if-match', 'if-modified-since', 'if-none-match', 'if-range',
  'if-unmodified-since', 'keep-alive', 'proxy-authorization', 'range', 'te', 'trailer', 'transfer-encoding',
  'upgrade', 'user-agent',
]);
/** A claim name, or a dotted path into nested claims (`groups`, `attributes.institution`). */
const claimPath = z.string().regex(/^[^.\s]+(\.[^.\s]+)*$/, 'must be a claim name or a dotted path (e.g. institution, attributes.institution)');
const identityHeaderName = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'must be an HTTP header name (token characters only)')
  .refine((name) => !RESERVED_HEADERS.has(name.toLowerCase()), 'must not be a standard header the gateway forwards or sets');

/** The environment as the gateway reads it: keys are the variable names of CONTRACT.md. */
export const envSchema = z
  .object({
    NODE_ENV: z.string().default('development'),
    PORT: port.default(8080),
    WORKERS: integer('must be a number of processes (1-64)', (value) => value >= 1 && value <= 64).default(1),
    PUBLIC_URL: httpUrl.default('http://localhost:8080'),
    OIDC_ISSUER: httpUrl,
    OIDC_DISCOVERY_URL: httpUrl.optional(),
    OIDC_CLIENT_ID: z.string().min(1).default('orthanc-gateway'),
    OIDC_CLIENT_SECRET: z.string().min(1).optional(),
    OIDC_AUDIENCE: z.string().min(1).default('orthanc-gateway'),
    OIDC_SCOPES: z.string().default('openid profile email'),
    OIDC_ROLES_CLIENT: z.string().min(1).optional(),
    ROLE_VIEWER: roleName.default('pacs-viewer'),
    ROLE_UPLOADER: roleName.default('pacs-uploader'),
    ROLE_ADMIN: roleName.default('pacs-admin'),
    ORTHANC_URL: httpUrl.default('http://127.0.0.1:8042'),
    ORTHANC_USERNAME: z.string().min(1).regex(/^[^:]+$/, 'must not contain ":"'),
    ORTHANC_PASSWORD: z.string().min(1),
    ORTHANC_TIMEOUT_MS: positiveInt.default(60_000),
    ORTHANC_MAX_CONNECTIONS: integer('must be a number of connections (1-128)', (value) => value >= 1 && value <= 128).default(40),
    ORTHANC_CA_FILE: z.string().min(1).optional(),
    ORTHANC_CLIENT_CERT_FILE: z.string().min(1).optional(),
    ORTHANC_CLIENT_KEY_FILE: z.string().min(1).optional(),
    ALLOW_UNAUTHENTICATED_ORTHANC: bool.default(false),
    TLS_CERT_FILE: z.string().min(1).optional(),
    TLS_KEY_FILE: z.string().min(1).optional(),
    REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }).optional(),
    REDIS_SENTINELS: hostPortList.optional(),
    REDIS_SENTINEL_NAME: z.string().min(1).optional(),
    REDIS_SENTINEL_PASSWORD: z.string().min(1).optional(),
    REDIS_CLUSTER_NODES: hostPortList.optional(),
    REDIS_USERNAME: z.string().min(1).optional(),
    REDIS_PASSWORD: z.string().min(1).optional(),
    JWKS_CACHE_SECONDS: positiveInt.default(600),
    OIDC_TOKEN_VALIDATION: z.enum(['jwt', 'introspection'], { error: 'must be jwt or introspection' }).default('jwt'),
    // Bounded: a token revoked at the IdP keeps working until its cache entry ends.
    OIDC_INTROSPECTION_CACHE_SECONDS: integer('must be a number of seconds (0-300)', (value) => value >= 0 && value <= 300).optional(),
    SESSION_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    SESSION_IDLE_SECONDS: positiveInt.default(1800),
    SESSION_MAX_SECONDS: positiveInt.default(28_800),
    // Bounded: what a replica missed (a logout while pub/sub was down) is honoured at most this long.
    SESSION_CACHE_SECONDS: integer('must be a number of seconds (0-60)', (value) => value >= 0 && value <= 60).default(5),
    CORS_ORIGINS: commaList.pipe(z.array(z.url({ error: 'must be a comma list of origins' }))).default([]),
    TRUST_PROXY: bool.default(false),
    OHIF_DIST: z.string().min(1).optional(),
    VIEWER_ACCESS: z.enum(['session', 'public']).default('session'),
    ADMIN_ALLOW_DANGEROUS: bool.default(false),
    ADMIN_ALLOW_ENDPOINTS: blockedEndpointNames.default([]),
    ORTHANC_CREDENTIALS_BY_ROLE: credentialsByRole.optional(),
    FORWARD_IDENTITY_HEADERS: bool.default(false),
    IDENTITY_HEADER_USER: identityHeaderName.default('X-Forwarded-User'),
    IDENTITY_HEADER_ROLES: identityHeaderName.default('X-Forwarded-Roles'),
    SHARE_ROLES: commaList.pipe(z.array(roleName)).optional(),
    SHARE_MAX_SECONDS: positiveInt.default(604_800),
    SHARE_CONFIRM_SECONDS: positiveInt.default(3600),
    STUDY_ACCESS_CLAIM: claimPath.optional(),
    STUDY_ACCESS_ATTRIBUTE: z.enum(['InstitutionName', 'PatientIDPrefix'], { error: 'must be InstitutionName or PatientIDPrefix' }).optional(),
    STUDY_ACCESS_BYPASS_ROLES: commaList.pipe(z.array(roleName)).optional(),
    SMART_CLIENTS: commaList.pipe(z.array(z.string().regex(/^[\w.:@/-]+$/, 'must be a comma list of OAuth client ids'))).optional(),
    SMART_PATIENT_CLAIM: claimPath.optional(),
    SMART_PATIENT_FHIR_URL: httpUrl.optional(),
    SMART_PATIENT_IDENTIFIER_SYSTEM: z.string().trim().min(1, 'must not be empty').optional(),
    SMART_PATIENT_ID_ISSUER: z.string().trim().min(1, 'must not be empty').max(64, 'must be at most 64 characters (a DICOM LO value)').refine((value) => !value.includes('\\'), 'must not contain a backslash (a DICOM value separator)').optional(),
    STUDY_ACCESS_CACHE_SECONDS: integer('must be a number of seconds (0-3600)', (value) => value >= 0 && value <= 3600).default(30),
    RATE_LIMIT_LOGIN_PER_MINUTE: positiveInt.default(60),
    RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: positiveInt.default(30),
    USER_MAX_CONCURRENT_REQUESTS: integer('must be a number of requests (0-10000; 0 = unlimited)', (value) => value >= 0 && value <= 10_000).default(0),
    QIDO_MAX_LIMIT: positiveInt.optional(),
    MAX_BODY_BYTES: positiveInt.default(1_048_576),
    REQUEST_TIMEOUT_SECONDS: positiveInt.default(600),
    STOW_MAX_BYTES: positiveInt.default(4_294_967_296),
    AUDIT_LOG_FILE: z.string().min(1).optional(),
    AUDIT_ANCHOR_RECORDS: positiveInt.default(1000),
    AUDIT_SOURCE_ID: z.string().trim().min(1).optional(),
    AUDIT_ENTERPRISE_SITE_ID: z.string().trim().min(1).optional(),
    AUDIT_PATIENT_CACHE_SECONDS: integer('must be a number of seconds (0-86400)', (value) => value >= 0 && value <= 86_400).default(3600),
    AUDIT_SYSLOG_URL: syslogUrl.optional(),
    AUDIT_SYSLOG_CA_FILE: z.string().min(1).optional(),
    AUDIT_SYSLOG_CERT_FILE: z.string().min(1).optional(),
    AUDIT_SYSLOG_KEY_FILE: z.string().min(1).optional(),
    AUDIT_FHIR_URL: httpUrl.optional(),
    AUDIT_FHIR_CA_FILE: z.string().min(1).optional(),
    AUDIT_FHIR_CERT_FILE: z.string().min(1).optional(),
    AUDIT_FHIR_KEY_FILE: z.string().min(1).optional(),
    AUDIT_FHIR_CLIENT_ID: z.string().min(1).optional(),
    AUDIT_FHIR_CLIENT_SECRET: z.string().min(1).optional(),
    AUDIT_FHIR_TOKEN_URL: httpUrl.optional(),
    AUDIT_FHIR_SCOPE: z.string().trim().min(1, 'must not be empty').optional(),
    AUDIT_SPOOL_DIR: z.string().min(1).optional(),
    AUDIT_SPOOL_MAX_BYTES: positiveInt.default(104_857_600),
    AUDIT_SPOOL_ALARM_MESSAGES: positiveInt.default(1000),
    AUDIT_TRANSPORT_TIMEOUT_SECONDS: positiveInt.default(10),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .superRefine((env, ctx) => {
    const requireTogether = (a: keyof typeof env, b: keyof typeof env) => {
      if (Boolean(env[a]) !== Boolean(env[b])) {
        const missing = env[a] ? b : a;
        ctx.addIssue({ code: 'custom', path: [missing], message: `is required together with ${missing === a ? b : a}` });
      }
    };
    requireTogether('TLS_CERT_FILE', 'TLS_KEY_FILE');
    requireTogether('ORTHANC_CLIENT_CERT_FILE', 'ORTHANC_CLIENT_KEY_FILE');
    // Redis: one address (REDIS_URL), or a Sentinel-managed primary, or a Cluster; credentials of
    // the latter two in REDIS_USERNAME / REDIS_PASSWORD (a REDIS_URL carries its own).
    const redisModes = (['REDIS_URL', 'REDIS_SENTINELS', 'REDIS_CLUSTER_NODES'] as const).filter((name) => Boolean(env[name]));
    const hasRedis = redisModes.length > 0;
    for (const name of redisModes.slice(1)) {
      ctx.addIssue({ code: 'custom', path: [name], message: `must not be set together with ${redisModes[0]} (choose one of REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER_NODES)` });
    }
    requireTogether('REDIS_SENTINELS', 'REDIS_SENTINEL_NAME');
    if (env.REDIS_SENTINEL_PASSWORD && !env.REDIS_SENTINELS) {
      ctx.addIssue({ code: 'custom', path: ['REDIS_SENTINEL_PASSWORD'], message: 'is only used with REDIS_SENTINELS' });
    }
    for (const name of ['REDIS_USERNAME', 'REDIS_PASSWORD'] as const) {
      if (!env[name]) continue;
      if (env.REDIS_URL) ctx.addIssue({ code: 'custom', path: [name], message: 'is only used with REDIS_SENTINELS or REDIS_CLUSTER_NODES (put credentials in REDIS_URL)' });
      else if (!env.REDIS_SENTINELS && !env.REDIS_CLUSTER_NODES) ctx.addIssue({ code: 'custom', path: [name], message: 'is only used with REDIS_SENTINELS or REDIS_CLUSTER_NODES' });
    }
    if (env.REDIS_USERNAME && !env.REDIS_PASSWORD) ctx.addIssue({ code: 'custom', path: ['REDIS_PASSWORD'], message: 'is required together with REDIS_USERNAME' });
    if (env.NODE_ENV === 'production') {
      if (!hasRedis) ctx.addIssue({ code: 'custom', path: ['REDIS_URL'], message: 'is required when NODE_ENV=production (or REDIS_SENTINELS / REDIS_CLUSTER_NODES)' });
      if (!env.SESSION_SECRET) ctx.addIssue({ code: 'custom', path: ['SESSION_SECRET'], message: 'is required when NODE_ENV=production' });
    }
    const [userHeader, rolesHeader] = [env.IDENTITY_HEADER_USER, env.IDENTITY_HEADER_ROLES];
    if (typeof userHeader === 'string' && typeof rolesHeader === 'string' && userHeader.toLowerCase() === rolesHeader.toLowerCase()) {
      ctx.addIssue({ code: 'custom', path: ['IDENTITY_HEADER_ROLES'], message: 'must differ from IDENTITY_HEADER_USER' });
    }
    // Sessions in one process's memory, or cookies signed with one process's random secret, would
    // not be seen by the other workers (production requires both anyway).
    if (typeof env.WORKERS === 'number' && env.WORKERS > 1 && env.NODE_ENV !== 'production') {
      if (!hasRedis) ctx.addIssue({ code: 'custom', path: ['REDIS_URL'], message: 'is required when WORKERS > 1 (or REDIS_SENTINELS / REDIS_CLUSTER_NODES)' });
      if (!env.SESSION_SECRET) ctx.addIssue({ code: 'custom', path: ['SESSION_SECRET'], message: 'is required when WORKERS > 1' });
    }
    // Without the claim, per-study access is off: a lone setting would silently let everyone see everything.
    for (const name of ['STUDY_ACCESS_ATTRIBUTE', 'STUDY_ACCESS_BYPASS_ROLES'] as const) {
      if (env[name] !== undefined && !env.STUDY_ACCESS_CLAIM) ctx.addIssue({ code: 'custom', path: [name], message: 'is only used with STUDY_ACCESS_CLAIM (set it to turn per-study access on)' });
    }
    requireTogether('SMART_PATIENT_FHIR_URL', 'SMART_PATIENT_IDENTIFIER_SYSTEM');
    for (const name of ['SMART_PATIENT_CLAIM', 'SMART_PATIENT_ID_ISSUER', 'SMART_PATIENT_FHIR_URL'] as const) {
      if (env[name] !== undefined && !env.SMART_CLIENTS?.length) ctx.addIssue({ code: 'custom', path: [name], message: 'is only used with SMART_CLIENTS (the apps governed by SMART scopes)' });
    }
    if (env.OIDC_TOKEN_VALIDATION === 'introspection' && !env.OIDC_CLIENT_SECRET) {
      ctx.addIssue({ code: 'custom', path: ['OIDC_CLIENT_SECRET'], message: 'is required when OIDC_TOKEN_VALIDATION=introspection (the introspection endpoint authenticates the gateway)' });
    }
    if (env.OIDC_INTROSPECTION_CACHE_SECONDS !== undefined && env.OIDC_TOKEN_VALIDATION !== 'introspection') {
      ctx.addIssue({ code: 'custom', path: ['OIDC_INTROSPECTION_CACHE_SECONDS'], message: 'is only used with OIDC_TOKEN_VALIDATION=introspection' });
    }
    if (env.SESSION_IDLE_SECONDS > env.SESSION_MAX_SECONDS) {
      ctx.addIssue({ code: 'custom', path: ['SESSION_IDLE_SECONDS'], message: 'must not exceed SESSION_MAX_SECONDS' });
    }
    requireTogether('AUDIT_SYSLOG_CERT_FILE', 'AUDIT_SYSLOG_KEY_FILE');
    const syslogTls = typeof env.AUDIT_SYSLOG_URL === 'string' && env.AUDIT_SYSLOG_URL.startsWith('tls:');
    for (const name of ['AUDIT_SYSLOG_CA_FILE', 'AUDIT_SYSLOG_CERT_FILE', 'AUDIT_SYSLOG_KEY_FILE'] as const) {
      if (env[name] && !syslogTls) ctx.addIssue({ code: 'custom', path: [name], message: 'is only used with AUDIT_SYSLOG_URL=tls://…' });
    }
    requireTogether('AUDIT_FHIR_CERT_FILE', 'AUDIT_FHIR_KEY_FILE');
    const fhirHttps = typeof env.AUDIT_FHIR_URL === 'string' && env.AUDIT_FHIR_URL.startsWith('https:');
    for (const name of ['AUDIT_FHIR_CA_FILE', 'AUDIT_FHIR_CERT_FILE', 'AUDIT_FHIR_KEY_FILE'] as const) {
      if (env[name] && !fhirHttps) ctx.addIssue({ code: 'custom', path: [name], message: 'is only used with AUDIT_FHIR_URL=https://…' });
    }
    // OAuth 2.0 client credentials for the FHIR audit server: an id and a secret, or neither.
    requireTogether('AUDIT_FHIR_CLIENT_ID', 'AUDIT_FHIR_CLIENT_SECRET');
    for (const name of ['AUDIT_FHIR_CLIENT_ID', 'AUDIT_FHIR_CLIENT_SECRET'] as const) {
      if (env[name] && !env.AUDIT_FHIR_URL) ctx.addIssue({ code: 'custom', path: [name], message: 'is only used with AUDIT_FHIR_URL' });
    }
    for (const name of ['AUDIT_FHIR_TOKEN_URL', 'AUDIT_FHIR_SCOPE'] as const) {
      if (env[name] && !env.AUDIT_FHIR_CLIENT_ID) ctx.addIssue({ code: 'custom', path: [name], message: 'is only used with AUDIT_FHIR_CLIENT_ID and AUDIT_FHIR_CLIENT_SECRET' });
    }
    if ((env.AUDIT_SYSLOG_URL || env.AUDIT_FHIR_URL) && !env.AUDIT_SPOOL_DIR) {
      ctx.addIssue({ code: 'custom', path: ['AUDIT_SPOOL_DIR'], message: 'is required with AUDIT_SYSLOG_URL or AUDIT_FHIR_URL (messages wait there while a receiver is down)' });
    }
    // A hash chain and a spool have one writer: workers appending to the same ones would break both.
    if (typeof env.WORKERS === 'number' && env.WORKERS > 1) {
      for (const name of ['AUDIT_LOG_FILE', 'AUDIT_SPOOL_DIR'] as const) {
        if (env[name]) ctx.addIssue({ code: 'custom', path: [name], message: 'cannot be used with WORKERS > 1 (one writer per hash-chained file and spool): run one process per replica instead' });
      }
    }
    // Runs even when single variables failed, so every problem is reported at once.
  }, { when: () => true });

export type Env = z.infer<typeof envSchema>;
