import type { Env } from './schema.js';

/** The gateway's configuration: validated once at start, then passed around as one typed object. */
export interface Config {
  production: boolean;
  port: number;
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
  };
  roles: { viewer: string; uploader: string; admin: string };
  orthanc: {
    url: string;
    username: string;
    password: string;
    timeoutMs: number;
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
  tls: { certFile: string; keyFile: string } | undefined;
  redisUrl: string | undefined;
  session: { secret: string | undefined; idleSeconds: number; maxSeconds: number };
  corsOrigins: string[];
  trustProxy: boolean;
  ohifDist: string | undefined;
  /** Who may load the viewer's pages: signed-in users (session) or anyone (public, OHIF signs in itself). */
  viewerAccess: 'session' | 'public';
  rateLimits: { loginPerMinute: number; authFailuresPerMinute: number };
  /** Request body limits: uploads (STOW-RS, admin POST /instances) and everything else. */
  bodyLimits: { uploadBytes: number; otherBytes: number };
  logLevel: Env['LOG_LEVEL'];
  /** Append the audit trail to this file instead of the log stream. */
  auditLogFile: string | undefined;
}

const withoutTrailingSlash = (url: string) => url.replace(/\/+$/, '');

export function toConfig(env: Env): Config {
  return {
    production: env.NODE_ENV === 'production',
    port: env.PORT,
    publicUrl: withoutTrailingSlash(env.PUBLIC_URL),
    oidc: {
      issuer: env.OIDC_ISSUER,
      discoveryUrl: env.OIDC_DISCOVERY_URL ?? env.OIDC_ISSUER,
      clientId: env.OIDC_CLIENT_ID,
      clientSecret: env.OIDC_CLIENT_SECRET,
      audience: env.OIDC_AUDIENCE,
      scopes: env.OIDC_SCOPES.split(/\s+/).filter(Boolean),
      rolesClient: env.OIDC_ROLES_CLIENT,
    },
    roles: { viewer: env.ROLE_VIEWER, uploader: env.ROLE_UPLOADER, admin: env.ROLE_ADMIN },
    orthanc: {
      url: withoutTrailingSlash(env.ORTHANC_URL),
      username: env.ORTHANC_USERNAME,
      password: env.ORTHANC_PASSWORD,
      timeoutMs: env.ORTHANC_TIMEOUT_MS,
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
    tls: env.TLS_CERT_FILE && env.TLS_KEY_FILE ? { certFile: env.TLS_CERT_FILE, keyFile: env.TLS_KEY_FILE } : undefined,
    redisUrl: env.REDIS_URL,
    session: { secret: env.SESSION_SECRET, idleSeconds: env.SESSION_IDLE_SECONDS, maxSeconds: env.SESSION_MAX_SECONDS },
    corsOrigins: env.CORS_ORIGINS.map((origin) => new URL(origin).origin),
    trustProxy: env.TRUST_PROXY,
    ohifDist: env.OHIF_DIST,
    viewerAccess: env.VIEWER_ACCESS,
    rateLimits: { loginPerMinute: env.RATE_LIMIT_LOGIN_PER_MINUTE, authFailuresPerMinute: env.RATE_LIMIT_AUTH_FAILURES_PER_MINUTE },
    bodyLimits: { uploadBytes: env.STOW_MAX_BYTES, otherBytes: env.MAX_BODY_BYTES },
    logLevel: env.LOG_LEVEL,
    auditLogFile: env.AUDIT_LOG_FILE,
  };
}
