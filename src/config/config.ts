import type { StudyAttribute } from '../policy/study-access.js';
import type { Env } from './schema.js';

export interface HostPort {
  host: string;
  port: number;
}

/**
 * Where the shared state lives: one Redis address, a primary found through Redis Sentinel, or a
 * Redis Cluster (see README "Scaling and failure behaviour").
 */
export type RedisConnection =
  | { mode: 'single'; url: string }
  | { mode: 'sentinel'; sentinels: HostPort[]; name: string; username: string | undefined; password: string | undefined; sentinelPassword: string | undefined }
  | { mode: 'cluster'; nodes: HostPort[]; username: string | undefined; password: string | undefined };

export interface StudyAccessConfig {
  /** Claim name or dotted path in the access token. */
  claim: string;
  attribute: StudyAttribute;
  bypassRoles: string[];
  /** How long a study's looked-up attribute is reused (0: looked up on every request). */
  cacheSeconds: number;
}

/** SMART on FHIR apps: whose tokens their scopes govern, and where a token names its patient. */
export interface SmartConfig {
  /** Client ids (`azp`, or `client_id` of an introspection answer) governed by SMART scopes instead of roles alone. */
  clients: string[];
  /** Claim name or dotted path carrying the DICOM Patient ID of the token's patient context. */
  patientClaim: string;
  /**
   * When set, the claim carries a FHIR Patient id: the DICOM Patient ID is that Patient's identifier
   * of `identifierSystem`, read at `baseUrl` (cached for `cacheSeconds`).
   */
  patientFhir: { baseUrl: string; identifierSystem: string } | undefined;
  /** The Issuer of Patient ID (0010,0021) every instance of a patient's study must carry; undefined: not checked. */
  patientIdIssuer: string | undefined;
  /** How long a study's looked-up Patient ID is reused (STUDY_ACCESS_CACHE_SECONDS). */
  cacheSeconds: number;
}

/** The gateway's configuration: validated once at start, then passed around as one typed object. */
export interface Config {
  production: boolean;
  port: number;
  /** Processes serving requests (node:cluster workers sharing the port); 1 = no cluster. */
  workers: number;
  /** External base URL without a trailing slash. */
  publicUrl: string;
  oidc: {
    issuer: string;
    /** Base URL the gateway itself uses to reach the issuer (defaults to the issuer). */
    discoveryUrl: string;
    clientId: string;
    clientSecret: string | undefined;
    audience: string;
    scopes: string[];
    rolesClient: string | undefined;
    /** How long a downloaded JWKS is used before it is fetched again (JWKS_CACHE_SECONDS). */
    jwksCacheSeconds: number;
    /**
     * How access tokens are validated: locally as signed JWTs, or by asking the IdP (RFC 7662
     * introspection, for lightweight or opaque tokens), its answers reused for at most `cacheSeconds`.
     */
    tokenValidation: { mode: 'jwt' } | { mode: 'introspection'; cacheSeconds: number };
  };
  roles: { viewer: string; uploader: string; admin: string };
  orthanc: {
    url: string;
    username: string;
    password: string;
    timeoutMs: number;
    /** Requests at Orthanc at once (below its HttpThreadsCount); the others wait in the gateway. */
    maxConnections: number;
    caFile: string | undefined;
    clientCertFile: string | undefined;
    clientKeyFile: string | undefined;
    /** Start even when Orthanc answers without credentials (start-up doctor; only if nothing but the gateway reaches it). */
    allowUnauthenticated: boolean;
    credentialsByRole: Record<string, string> | undefined;
    forwardIdentityHeaders: boolean;
    /** Names of the identity headers; set only when forwardIdentityHeaders is true. */
    identityHeaders: { user: string; roles: string } | undefined;
  };
  adminAllowDangerous: boolean;
  /** Blocked-endpoint rules opened to admins by name (ADMIN_ALLOW_ENDPOINTS). */
  adminAllowEndpoints: readonly string[];
  tls: { certFile: string; keyFile: string } | undefined;
  /** REDIS_URL (single-node mode only; `redis` describes every mode). */
  redisUrl: string | undefined;
  /** Unset: sessions and shared state in process memory (development). */
  redis: RedisConnection | undefined;
  session: {
    secret: string | undefined;
    idleSeconds: number;
    maxSeconds: number;
    /** How long a replica may serve a verified session from memory (0: never); the staleness bound. */
    cacheSeconds: number;
  };
  corsOrigins: string[];
  trustProxy: boolean;
  ohifDist: string | undefined;
  /** Who may load the viewer's pages: signed-in users (session) or anyone (public, OHIF signs in itself). */
  viewerAccess: 'session' | 'public';
  rateLimits: { loginPerMinute: number; authFailuresPerMinute: number };
  /** Per-user limits on proxied requests; undefined = no limit (the default). */
  userLimits: {
    /** Requests of one user (token `sub`, or one share link) in progress at once, across replicas. */
    maxConcurrentRequests: number | undefined;
    /** Largest QIDO-RS `limit` forwarded; a search without one gets this one. */
    qidoMaxLimit: number | undefined;
  };
  /** Study share links: who may create them, and their longest lifetime. */
  share: { roles: string[]; maxSeconds: number; confirmSeconds: number };
  /**
   * Per-study access from a token claim (off when undefined): users without a bypass role see only
   * studies whose attribute matches one of the claim's values.
   */
  studyAccess: StudyAccessConfig | undefined;
  /** SMART on FHIR scopes and patient context for the listed apps (off when undefined). */
  smart: SmartConfig | undefined;
  /** Request body limits: uploads (STOW-RS, admin POST /instances) and everything else. */
  bodyLimits: { uploadBytes: number; otherBytes: number };
  /** Longest time to receive a whole request (headers and body). */
  requestTimeoutSeconds: number;
  logLevel: Env['LOG_LEVEL'];
  /** Append the audit trail to this file (hash-chained) instead of the log stream. */
  auditLogFile: string | undefined;
  audit: AuditConfig;
}

/** The gateway as an OAuth client of the FHIR audit server (client credentials grant). */
export interface FhirOAuthConfig {
  clientId: string;
  clientSecret: string;
  /** The token endpoint; undefined: the one OIDC_ISSUER's discovery document names. */
  tokenUrl: string | undefined;
  /** Space-separated scopes asked for (e.g. SMART's system/AuditEvent.c); undefined: none asked for. */
  scope: string | undefined;
}

/** The standard audit messages and the chained audit file (src/audit/). */
export interface AuditConfig {
  /** An anchor record after this many records of the chained file. */
  anchorEvery: number;
  /** AuditSourceID; the machine's host name when not set. */
  sourceId: string | undefined;
  siteId: string | undefined;
  /** How long the patient of a study is remembered. */
  patientCacheSeconds: number;
  syslog: { url: string; caFile: string | undefined; certFile: string | undefined; keyFile: string | undefined } | undefined;
  /** FHIR base URL: AuditEvent resources are POSTed to `<url>/AuditEvent`. */
  fhirUrl: string | undefined;
  /** https:// only: the FHIR server's CA and the gateway's client certificate (mutual TLS). */
  fhirTls: { caFile: string | undefined; certFile: string | undefined; keyFile: string | undefined };
  /** OAuth 2.0 client credentials grant: a Bearer token on every POST (off when undefined). */
  fhirOAuth: FhirOAuthConfig | undefined;
  spool: { dir: string; maxBytes: number; alarmMessages: number } | undefined;
  transportTimeoutMs: number;
}

const withoutTrailingSlash = (url: string) => url.replace(/\/+$/, '');

function toRedisConnection(env: Env): RedisConnection | undefined {
  const credentials = { username: env.REDIS_USERNAME, password: env.REDIS_PASSWORD };
  if (env.REDIS_URL) return { mode: 'single', url: env.REDIS_URL };
  if (env.REDIS_SENTINELS && env.REDIS_SENTINEL_NAME) {
    return { mode: 'sentinel', sentinels: env.REDIS_SENTINELS, name: env.REDIS_SENTINEL_NAME, ...credentials, sentinelPassword: env.REDIS_SENTINEL_PASSWORD };
  }
  if (env.REDIS_CLUSTER_NODES) return { mode: 'cluster', nodes: env.REDIS_CLUSTER_NODES, ...credentials };
  return undefined;
}

export function toConfig(env: Env): Config {
  return {
    production: env.NODE_ENV === 'production',
    port: env.PORT,
    workers: env.WORKERS,
    publicUrl: withoutTrailingSlash(env.PUBLIC_URL),
    oidc: {
      issuer: env.OIDC_ISSUER,
      discoveryUrl: env.OIDC_DISCOVERY_URL ?? env.OIDC_ISSUER,
      clientId: env.OIDC_CLIENT_ID,
      clientSecret: env.OIDC_CLIENT_SECRET,
      audience: env.OIDC_AUDIENCE,
      scopes: env.OIDC_SCOPES.split(/\s+/).filter(Boolean),
      rolesClient: env.OIDC_ROLES_CLIENT,
      jwksCacheSeconds: env.JWKS_CACHE_SECONDS,
      tokenValidation: env.OIDC_TOKEN_VALIDATION === 'introspection'
        ? { mode: 'introspection', cacheSeconds: env.OIDC_INTROSPECTION_CACHE_SECONDS ?? 30 }
        : { mode: 'jwt' },
    },
    roles: { viewer: env.ROLE_VIEWER, uploader: env.ROLE_UPLOADER, admin: env.ROLE_ADMIN },
    orthanc: {
      url: withoutTrailingSlash(env.ORTHANC_URL),
      username: env.ORTHANC_USERNAME,
      password: env.ORTHANC_PASSWORD,
      timeoutMs: env.ORTHANC_TIMEOUT_MS,
      maxConnections: env.ORTHANC_MAX_CONNECTIONS,
      caFile: env.ORTHANC_CA_FILE,
      clientCertFile: env.ORTHANC_CLIENT_CERT_FILE,
      clientKeyFile: env.ORTHANC_CLIENT_KEY_FILE,
      allowUnauthenticated: env.ALLOW_UNAUTHENTICATED_ORTHANC,
      credentialsByRole: env.ORTHANC_CREDENTIALS_BY_ROLE,
      forwardIdentityHeaders: env.FORWARD_IDENTITY_HEADERS,
      identityHeaders: env.FORWARD_IDENTITY_HEADERS
        ? { user: env.IDENTITY_HEADER_USER, roles: env.IDENTITY_HEADER_ROLES }
        : undefined,
    },
    adminAllowDangerous: env.ADMIN_ALLOW_DANGEROUS,
    adminAllowEndpoints: env.ADMIN_ALLOW_ENDPOINTS,
    tls: env.TLS_CERT_FILE && env.TLS_KEY_FILE ? { certFile: env.TLS_CERT_FILE, keyFile: env.TLS_KEY_FILE } : undefined,
    redisUrl: env.REDIS_URL,
    redis: toRedisConnection(env),
    session: { secret: env.SESSION_SECRET, idleSeconds: env.SESSION_IDLE_SECONDS, maxSeconds: env.SESSION_MAX_SECONDS, cacheSeconds: env.SESSION_CACHE_SECONDS },
    corsOrigins: env.CORS_ORIGINS.map((origin) => new URL(origin).origin),
    trustProxy: env.TRUST_PROXY,
    ohifDist: env.OHIF_DIST,
    viewerAccess: env.VIEWER_ACCESS,
    share: { roles: env.SHARE_ROLES ?? [env.ROLE_UPLOADER, env.ROLE_ADMIN], maxSeconds: env.SHARE_MAX_SECONDS, confirmSeconds: env.SHARE_CONFIRM_SECONDS },
    studyAccess: env.STUDY_ACCESS_CLAIM
      ? {
          claim: env.STUDY_ACCESS_CLAIM,
          attribute: env.STUDY_ACCESS_ATTRIBUTE ?? 'InstitutionName',
          bypassRoles: env.STUDY_ACCESS_BYPASS_ROLES ?? [env.ROLE_ADMIN],
          cacheSeconds: env.STUDY_ACCESS_CACHE_SECONDS,
        }
      : undefined,
    smart: env.SMART_CLIENTS?.length
      ? {
          clients: env.SMART_CLIENTS,
          patientClaim: env.SMART_PATIENT_CLAIM ?? 'patient',
          patientFhir: env.SMART_PATIENT_FHIR_URL && env.SMART_PATIENT_IDENTIFIER_SYSTEM
            ? { baseUrl: withoutTrailingSlash(env.SMART_PATIENT_FHIR_URL), identifierSystem: env.SMART_PATIENT_IDENTIFIER_SYSTEM }
            : undefined,
          patientIdIssuer: env.SMART_PATIENT_ID_ISSUER,
          cacheSeconds: env.STUDY_ACCESS_CACHE_SECONDS,
        }
      : undefined,
    rateLimits: { loginPerMinute: env.RATE_LIMIT_LOGIN_PER_MINUTE, authFailuresPerMinute: env.RATE_LIMIT_AUTH_FAILURES_PER_MINUTE },
    userLimits: { maxConcurrentRequests: env.USER_MAX_CONCURRENT_REQUESTS || undefined, qidoMaxLimit: env.QIDO_MAX_LIMIT },
    bodyLimits: { uploadBytes: env.STOW_MAX_BYTES, otherBytes: env.MAX_BODY_BYTES },
    requestTimeoutSeconds: env.REQUEST_TIMEOUT_SECONDS,
    logLevel: env.LOG_LEVEL,
    auditLogFile: env.AUDIT_LOG_FILE,
    audit: {
      anchorEvery: env.AUDIT_ANCHOR_RECORDS,
      sourceId: env.AUDIT_SOURCE_ID,
      siteId: env.AUDIT_ENTERPRISE_SITE_ID,
      patientCacheSeconds: env.AUDIT_PATIENT_CACHE_SECONDS,
      syslog: env.AUDIT_SYSLOG_URL
        ? { url: env.AUDIT_SYSLOG_URL, caFile: env.AUDIT_SYSLOG_CA_FILE, certFile: env.AUDIT_SYSLOG_CERT_FILE, keyFile: env.AUDIT_SYSLOG_KEY_FILE }
        : undefined,
      fhirUrl: env.AUDIT_FHIR_URL,
      fhirTls: { caFile: env.AUDIT_FHIR_CA_FILE, certFile: env.AUDIT_FHIR_CERT_FILE, keyFile: env.AUDIT_FHIR_KEY_FILE },
      fhirOAuth: env.AUDIT_FHIR_CLIENT_ID && env.AUDIT_FHIR_CLIENT_SECRET
        ? { clientId: env.AUDIT_FHIR_CLIENT_ID, clientSecret: env.AUDIT_FHIR_CLIENT_SECRET, tokenUrl: env.AUDIT_FHIR_TOKEN_URL, scope: env.AUDIT_FHIR_SCOPE }
        : undefined,
      spool: env.AUDIT_SPOOL_DIR ? { dir: env.AUDIT_SPOOL_DIR, maxBytes: env.AUDIT_SPOOL_MAX_BYTES, alarmMessages: env.AUDIT_SPOOL_ALARM_MESSAGES } : undefined,
      transportTimeoutMs: env.AUDIT_TRANSPORT_TIMEOUT_SECONDS * 1000,
    },
  };
}
