/**
 * loadConfig(env): the documented defaults (CONTRACT.md, Environment), every problem reported at
 * once naming its variable, and secrets never echoed.
 */
import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from '../../../src/config/load.js';

type Env = Record<string, string | undefined>;

const ISSUER = 'http://localhost:8081/realms/orthanc';
const MINIMAL: Env = { OIDC_ISSUER: ISSUER, ORTHANC_USERNAME: 'gateway', ORTHANC_PASSWORD: 'orthanc-service-pw' };
const SECRET_32 = 's'.repeat(32);

/** The ConfigError thrown for `env`; fails the test when the env is accepted. */
function configError(env: Env): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(Object.keys(env))}`);
}

/** The variable each problem is about (`PORT: …` → `PORT`, `CORS_ORIGINS.0: …` → `CORS_ORIGINS`). */
const variablesOf = (error: ConfigError) => error.problems.map((problem) => /^[A-Z_]+/.exec(problem)?.[0]);

describe('loadConfig: defaults from a minimal environment', () => {
  it('fills in every documented default', () => {
    expect(loadConfig(MINIMAL)).toEqual({
      production: false,
      port: 8080,
      publicUrl: 'http://localhost:8080',
      oidc: {
        issuer: ISSUER,
        discoveryUrl: ISSUER,
        clientId: 'orthanc-gateway',
        clientSecret: undefined,
        audience: 'orthanc-gateway',
        scopes: ['openid', 'profile', 'email'],
        rolesClient: undefined,
        jwksCacheSeconds: 600,
        tokenValidation: { mode: 'jwt' },
      },
      roles: { viewer: 'pacs-viewer', uploader: 'pacs-uploader', admin: 'pacs-admin' },
      orthanc: {
        url: 'http://127.0.0.1:8042',
        username: 'gateway',
        password: 'orthanc-service-pw',
        timeoutMs: 60_000,
        maxConnections: 40,
        caFile: undefined,
        clientCertFile: undefined,
        clientKeyFile: undefined,
        allowUnauthenticated: false,
        credentialsByRole: undefined,
        forwardIdentityHeaders: false,
      },
      adminAllowDangerous: false,
      adminAllowEndpoints: [],
      tls: undefined,
      redisUrl: undefined,
      redis: undefined,
      session: { secret: undefined, idleSeconds: 1800, maxSeconds: 28_800, cacheSeconds: 5 },
      corsOrigins: [],
      trustProxy: false,
      viewerAccess: 'session',
      rateLimits: { loginPerMinute: 60, authFailuresPerMinute: 30 },
      userLimits: { maxConcurrentRequests: undefined, qidoMaxLimit: undefined },
      bodyLimits: { uploadBytes: 4_294_967_296, otherBytes: 1_048_576 },
      requestTimeoutSeconds: 600,
      share: { roles: ['pacs-uploader', 'pacs-admin'], maxSeconds: 604_800, confirmSeconds: 3600 },
      studyAccess: undefined,
      workers: 1,
      ohifDist: undefined,
      logLevel: 'info',
      audit: { anchorEvery: 1000, sourceId: undefined, siteId: undefined, patientCacheSeconds: 3600, syslog: undefined, fhirUrl: undefined, fhirTls: { caFile: undefined, certFile: undefined, keyFile: undefined }, spool: undefined, transportTimeoutMs: 10_000 },
    });
  });

  it('treats empty strings as unset (docker-compose `VAR=`)', () => {
    const empties: Env = {
      PORT: '',
      PUBLIC_URL: '',
      OIDC_DISCOVERY_URL: '',
      OIDC_CLIENT_ID: '',
      OIDC_CLIENT_SECRET: '',
      OIDC_ROLES_CLIENT: '',
      ROLE_VIEWER: '',
      ORTHANC_URL: '',
      TLS_CERT_FILE: '',
      REDIS_URL: '',
      SESSION_SECRET: '',
      SESSION_IDLE_SECONDS: '',
      CORS_ORIGINS: '',
      TRUST_PROXY: '',
      ADMIN_ALLOW_DANGEROUS: '',
      ORTHANC_CREDENTIALS_BY_ROLE: '',
      LOG_LEVEL: '',
      UNRELATED: undefined,
    };
    expect(loadConfig({ ...MINIMAL, ...empties })).toEqual(loadConfig(MINIMAL));
  });

  it.each(['OIDC_ISSUER', 'ORTHANC_USERNAME', 'ORTHANC_PASSWORD'])('an empty required %s is reported as required', (name) => {
    expect(configError({ ...MINIMAL, [name]: '' }).problems).toEqual([`${name}: is required`]);
  });
});

describe('loadConfig: values are read and shaped', () => {
  it.each([
    { name: 'PORT', value: '9000', pick: (c: Cfg) => c.port, expected: 9000 },
    { name: 'PORT', value: '0', pick: (c: Cfg) => c.port, expected: 0 },
    { name: 'PORT', value: '65535', pick: (c: Cfg) => c.port, expected: 65535 },
    { name: 'PUBLIC_URL', value: 'https://pacs.example.org/', pick: (c: Cfg) => c.publicUrl, expected: 'https://pacs.example.org' },
    { name: 'PUBLIC_URL', value: 'https://pacs.example.org//', pick: (c: Cfg) => c.publicUrl, expected: 'https://pacs.example.org' },
    { name: 'PUBLIC_URL', value: 'https://example.org/gateway/', pick: (c: Cfg) => c.publicUrl, expected: 'https://example.org/gateway' },
    { name: 'PUBLIC_URL', value: 'http://localhost:8080', pick: (c: Cfg) => c.publicUrl, expected: 'http://localhost:8080' },
    { name: 'ORTHANC_URL', value: 'http://orthanc:8042/', pick: (c: Cfg) => c.orthanc.url, expected: 'http://orthanc:8042' },
    { name: 'ORTHANC_URL', value: 'https://orthanc.internal/', pick: (c: Cfg) => c.orthanc.url, expected: 'https://orthanc.internal' },
    { name: 'OIDC_DISCOVERY_URL', value: 'http://keycloak:8080/realms/orthanc', pick: (c: Cfg) => c.oidc.discoveryUrl, expected: 'http://keycloak:8080/realms/orthanc' },
    { name: 'OIDC_CLIENT_ID', value: 'my-gateway', pick: (c: Cfg) => c.oidc.clientId, expected: 'my-gateway' },
    { name: 'OIDC_CLIENT_SECRET', value: 'client-secret', pick: (c: Cfg) => c.oidc.clientSecret, expected: 'client-secret' },
    { name: 'OIDC_AUDIENCE', value: 'pacs-api', pick: (c: Cfg) => c.oidc.audience, expected: 'pacs-api' },
    { name: 'OIDC_SCOPES', value: '  openid   roles ', pick: (c: Cfg) => c.oidc.scopes, expected: ['openid', 'roles'] },
    { name: 'OIDC_ROLES_CLIENT', value: 'orthanc-gateway', pick: (c: Cfg) => c.oidc.rolesClient, expected: 'orthanc-gateway' },
    { name: 'ROLE_VIEWER', value: 'radiology:read', pick: (c: Cfg) => c.roles.viewer, expected: 'radiology:read' },
    { name: 'ROLE_UPLOADER', value: 'radiology.write', pick: (c: Cfg) => c.roles.uploader, expected: 'radiology.write' },
    { name: 'ROLE_ADMIN', value: 'it_ops', pick: (c: Cfg) => c.roles.admin, expected: 'it_ops' },
    { name: 'ORTHANC_TIMEOUT_MS', value: '5000', pick: (c: Cfg) => c.orthanc.timeoutMs, expected: 5000 },
    { name: 'ORTHANC_CA_FILE', value: '/etc/ca.pem', pick: (c: Cfg) => c.orthanc.caFile, expected: '/etc/ca.pem' },
    { name: 'REDIS_URL', value: 'redis://redis:6379/0', pick: (c: Cfg) => c.redisUrl, expected: 'redis://redis:6379/0' },
    { name: 'REDIS_URL', value: 'rediss://redis:6380', pick: (c: Cfg) => c.redisUrl, expected: 'rediss://redis:6380' },
    { name: 'SESSION_SECRET', value: SECRET_32, pick: (c: Cfg) => c.session.secret, expected: SECRET_32 },
    { name: 'SESSION_IDLE_SECONDS', value: '28800', pick: (c: Cfg) => c.session.idleSeconds, expected: 28_800 },
    { name: 'SESSION_MAX_SECONDS', value: '3600', pick: (c: Cfg) => c.session.maxSeconds, expected: 3600 },
    { name: 'SHARE_CONFIRM_SECONDS', value: '600', pick: (c: Cfg) => c.share.confirmSeconds, expected: 600 },
    { name: 'CORS_ORIGINS', value: 'https://viewer.example.org', pick: (c: Cfg) => c.corsOrigins, expected: ['https://viewer.example.org'] },
    {
      name: 'CORS_ORIGINS',
      value: ' https://a.example , https://b.example:8443/,,',
      pick: (c: Cfg) => c.corsOrigins,
      expected: ['https://a.example', 'https://b.example:8443'],
    },
    { name: 'TRUST_PROXY', value: 'true', pick: (c: Cfg) => c.trustProxy, expected: true },
    { name: 'TRUST_PROXY', value: '1', pick: (c: Cfg) => c.trustProxy, expected: true },
    { name: 'TRUST_PROXY', value: 'yes', pick: (c: Cfg) => c.trustProxy, expected: true },
    { name: 'TRUST_PROXY', value: 'false', pick: (c: Cfg) => c.trustProxy, expected: false },
    { name: 'TRUST_PROXY', value: '0', pick: (c: Cfg) => c.trustProxy, expected: false },
    { name: 'ADMIN_ALLOW_DANGEROUS', value: 'true', pick: (c: Cfg) => c.adminAllowDangerous, expected: true },
    { name: 'ADMIN_ALLOW_DANGEROUS', value: 'no', pick: (c: Cfg) => c.adminAllowDangerous, expected: false },
    { name: 'ADMIN_ALLOW_ENDPOINTS', value: ' dicom-echo, modality-echo ', pick: (c: Cfg) => c.adminAllowEndpoints, expected: ['dicom-echo', 'modality-echo'] },
    { name: 'FORWARD_IDENTITY_HEADERS', value: 'true', pick: (c: Cfg) => c.orthanc.forwardIdentityHeaders, expected: true },
    { name: 'USER_MAX_CONCURRENT_REQUESTS', value: '8', pick: (c: Cfg) => c.userLimits.maxConcurrentRequests, expected: 8 },
    { name: 'USER_MAX_CONCURRENT_REQUESTS', value: '0', pick: (c: Cfg) => c.userLimits.maxConcurrentRequests, expected: undefined },
    { name: 'QIDO_MAX_LIMIT', value: '500', pick: (c: Cfg) => c.userLimits.qidoMaxLimit, expected: 500 },
    { name: 'OHIF_DIST', value: '/srv/ohif', pick: (c: Cfg) => c.ohifDist, expected: '/srv/ohif' },
    { name: 'LOG_LEVEL', value: 'debug', pick: (c: Cfg) => c.logLevel, expected: 'debug' },
    { name: 'AUDIT_LOG_FILE', value: '/var/log/gateway/audit.log', pick: (c: Cfg) => c.auditLogFile, expected: '/var/log/gateway/audit.log' },
    {
      name: 'ORTHANC_CREDENTIALS_BY_ROLE',
      value: '{"pacs-admin":"admin:adm:pw","pacs-viewer":"viewer:vpw"}',
      pick: (c: Cfg) => c.orthanc.credentialsByRole,
      expected: { 'pacs-admin': 'admin:adm:pw', 'pacs-viewer': 'viewer:vpw' },
    },
  ])('$name=$value', ({ name, value, pick, expected }) => {
    expect(pick(loadConfig({ ...MINIMAL, [name]: value }))).toEqual(expected);
  });

  it('governs the apps of SMART_CLIENTS by SMART scopes, the patient from the `patient` claim by default', () => {
    expect(loadConfig(MINIMAL).smart).toBeUndefined();
    expect(loadConfig({ ...MINIMAL, SMART_CLIENTS: ' imaging-app, portal ' }).smart).toEqual({ clients: ['imaging-app', 'portal'], patientClaim: 'patient', patientIdIssuer: undefined, patientFhir: undefined, cacheSeconds: 30 });
    expect(loadConfig({ ...MINIMAL, SMART_CLIENTS: 'imaging-app', SMART_PATIENT_CLAIM: 'ids.dicom', SMART_PATIENT_ID_ISSUER: ' HOSP-A ', STUDY_ACCESS_CACHE_SECONDS: '5' }).smart).toEqual({
      clients: ['imaging-app'],
      patientClaim: 'ids.dicom',
      patientIdIssuer: 'HOSP-A',
      patientFhir: undefined,
      cacheSeconds: 5,
    });
    expect(loadConfig({ ...MINIMAL, SMART_CLIENTS: 'app', SMART_PATIENT_FHIR_URL: 'https://fhir.example.org/r4/', SMART_PATIENT_IDENTIFIER_SYSTEM: 'urn:oid:1.2.3' }).smart?.patientFhir).toEqual({
      baseUrl: 'https://fhir.example.org/r4',
      identifierSystem: 'urn:oid:1.2.3',
    });
  });

  it('reads the audit transports and their spool', () => {
    const env = { ...MINIMAL, AUDIT_SYSLOG_URL: 'tls://audit.example.org:6514', AUDIT_SYSLOG_CA_FILE: '/ca.pem', AUDIT_SYSLOG_CERT_FILE: '/c.pem', AUDIT_SYSLOG_KEY_FILE: '/k.pem', AUDIT_FHIR_URL: 'https://fhir.example.org/fhir', AUDIT_FHIR_CA_FILE: '/fca.pem', AUDIT_FHIR_CERT_FILE: '/fc.pem', AUDIT_FHIR_KEY_FILE: '/fk.pem', AUDIT_SPOOL_DIR: '/var/spool/audit', AUDIT_SPOOL_MAX_BYTES: '5000', AUDIT_SPOOL_ALARM_MESSAGES: '10', AUDIT_TRANSPORT_TIMEOUT_SECONDS: '3', AUDIT_SOURCE_ID: 'gw1', AUDIT_ENTERPRISE_SITE_ID: 'St. Elsewhere' };
    expect(loadConfig(env).audit).toEqual({
      anchorEvery: 1000,
      sourceId: 'gw1',
      siteId: 'St. Elsewhere',
      patientCacheSeconds: 3600,
      syslog: { url: 'tls://audit.example.org:6514', caFile: '/ca.pem', certFile: '/c.pem', keyFile: '/k.pem' },
      fhirUrl: 'https://fhir.example.org/fhir',
      fhirTls: { caFile: '/fca.pem', certFile: '/fc.pem', keyFile: '/fk.pem' },
      fhirOAuth: undefined,
      spool: { dir: '/var/spool/audit', maxBytes: 5000, alarmMessages: 10 },
      transportTimeoutMs: 3000,
    });
  });

  it.each([
    { case: 'id and secret only (token endpoint from discovery, no scope)', extra: {}, expected: { tokenUrl: undefined, scope: undefined } },
    { case: 'a token URL of its own and a SMART scope', extra: { AUDIT_FHIR_TOKEN_URL: 'https://auth.example.org/oauth2/token', AUDIT_FHIR_SCOPE: 'system/AuditEvent.c' }, expected: { tokenUrl: 'https://auth.example.org/oauth2/token', scope: 'system/AuditEvent.c' } },
  ])('reads the FHIR audit client credentials: $case', ({ extra, expected }) => {
    const env = { ...MINIMAL, AUDIT_FHIR_URL: 'https://fhir.example.org/fhir', AUDIT_SPOOL_DIR: '/s', AUDIT_FHIR_CLIENT_ID: 'audit-sender', AUDIT_FHIR_CLIENT_SECRET: 'audit-secret', ...extra };
    expect(loadConfig(env).audit.fhirOAuth).toEqual({ clientId: 'audit-sender', clientSecret: 'audit-secret', ...expected });
  });

  it('turns per-study access on with STUDY_ACCESS_CLAIM, with defaults', () => {
    expect(loadConfig({ ...MINIMAL, STUDY_ACCESS_CLAIM: 'institution', ROLE_ADMIN: 'it-ops' }).studyAccess).toEqual({
      claim: 'institution',
      attribute: 'InstitutionName',
      bypassRoles: ['it-ops'],
      cacheSeconds: 30,
    });
  });

  it('reads every per-study access setting', () => {
    const env = {
      STUDY_ACCESS_CLAIM: 'attributes.patient_prefix',
      STUDY_ACCESS_ATTRIBUTE: 'PatientIDPrefix',
      STUDY_ACCESS_BYPASS_ROLES: 'pacs-admin, pacs-auditor',
      STUDY_ACCESS_CACHE_SECONDS: '0',
    };
    expect(loadConfig({ ...MINIMAL, ...env }).studyAccess).toEqual({
      claim: 'attributes.patient_prefix',
      attribute: 'PatientIDPrefix',
      bypassRoles: ['pacs-admin', 'pacs-auditor'],
      cacheSeconds: 0,
    });
  });

  it('keeps the issuer exactly as given and uses it for discovery by default', () => {
    const config = loadConfig({ ...MINIMAL, OIDC_ISSUER: 'https://sso.example.org/realms/orthanc/' });
    expect(config.oidc.issuer).toBe('https://sso.example.org/realms/orthanc/');
    expect(config.oidc.discoveryUrl).toBe('https://sso.example.org/realms/orthanc/');
  });

  it('builds the TLS pair and the client certificate pair', () => {
    const config = loadConfig({
      ...MINIMAL,
      TLS_CERT_FILE: '/tls/cert.pem',
      TLS_KEY_FILE: '/tls/key.pem',
      ORTHANC_CLIENT_CERT_FILE: '/mtls/cert.pem',
      ORTHANC_CLIENT_KEY_FILE: '/mtls/key.pem',
    });
    expect(config.tls).toEqual({ certFile: '/tls/cert.pem', keyFile: '/tls/key.pem' });
    expect(config.orthanc).toMatchObject({ clientCertFile: '/mtls/cert.pem', clientKeyFile: '/mtls/key.pem' });
  });

  it('accepts production with Redis and a long session secret', () => {
    const config = loadConfig({ ...MINIMAL, NODE_ENV: 'production', REDIS_URL: 'redis://redis:6379', SESSION_SECRET: SECRET_32 });
    expect(config.production).toBe(true);
  });

  it('takes SESSION_CACHE_SECONDS from 0 (no cache) to 60', () => {
    expect(loadConfig({ ...MINIMAL, SESSION_CACHE_SECONDS: '0' }).session.cacheSeconds).toBe(0);
    expect(loadConfig({ ...MINIMAL, SESSION_CACHE_SECONDS: '60' }).session.cacheSeconds).toBe(60);
  });

  it('accepts SESSION_IDLE_SECONDS equal to SESSION_MAX_SECONDS', () => {
    expect(loadConfig({ ...MINIMAL, SESSION_IDLE_SECONDS: '600', SESSION_MAX_SECONDS: '600' }).session).toMatchObject({ idleSeconds: 600, maxSeconds: 600 });
  });
});

type Cfg = ReturnType<typeof loadConfig>;

describe('loadConfig: each problem names its variable', () => {
  it.each([
    { problem: 'missing OIDC_ISSUER', env: { OIDC_ISSUER: undefined }, variables: ['OIDC_ISSUER'], message: /is required/ },
    { problem: 'missing ORTHANC_USERNAME', env: { ORTHANC_USERNAME: undefined }, variables: ['ORTHANC_USERNAME'], message: /is required/ },
    { problem: 'missing ORTHANC_PASSWORD', env: { ORTHANC_PASSWORD: undefined }, variables: ['ORTHANC_PASSWORD'], message: /is required/ },
    { problem: 'PORT not a number', env: { PORT: 'eighty' }, variables: ['PORT'], message: /port/ },
    { problem: 'PORT too large', env: { PORT: '65536' }, variables: ['PORT'], message: /port/ },
    { problem: 'PORT negative', env: { PORT: '-1' }, variables: ['PORT'], message: /port/ },
    { problem: 'PORT fractional', env: { PORT: '80.5' }, variables: ['PORT'], message: /port/ },
    { problem: 'PUBLIC_URL not a URL', env: { PUBLIC_URL: 'pacs.example.org' }, variables: ['PUBLIC_URL'], message: /http\(s\) URL/ },
    { problem: 'PUBLIC_URL not http(s)', env: { PUBLIC_URL: 'ftp://pacs.example.org' }, variables: ['PUBLIC_URL'], message: /http\(s\) URL/ },
    { problem: 'OIDC_ISSUER not a URL', env: { OIDC_ISSUER: 'keycloak' }, variables: ['OIDC_ISSUER'], message: /http\(s\) URL/ },
    { problem: 'OIDC_DISCOVERY_URL not a URL', env: { OIDC_DISCOVERY_URL: 'not a url' }, variables: ['OIDC_DISCOVERY_URL'], message: /http\(s\) URL/ },
    { problem: 'ORTHANC_URL not http(s)', env: { ORTHANC_URL: 'file:///etc/passwd' }, variables: ['ORTHANC_URL'], message: /http\(s\) URL/ },
    { problem: 'REDIS_URL not redis', env: { REDIS_URL: 'http://redis:6379' }, variables: ['REDIS_URL'], message: /redis/ },
    { problem: 'SESSION_CACHE_SECONDS over a minute', env: { SESSION_CACHE_SECONDS: '61' }, variables: ['SESSION_CACHE_SECONDS'], message: /0-60/ },
    { problem: 'SESSION_CACHE_SECONDS negative', env: { SESSION_CACHE_SECONDS: '-1' }, variables: ['SESSION_CACHE_SECONDS'], message: /0-60/ },
    { problem: 'TRUST_PROXY not a boolean', env: { TRUST_PROXY: 'maybe' }, variables: ['TRUST_PROXY'], message: /true/ },
    { problem: 'ADMIN_ALLOW_DANGEROUS not a boolean', env: { ADMIN_ALLOW_DANGEROUS: 'sure' }, variables: ['ADMIN_ALLOW_DANGEROUS'], message: /true/ },
    { problem: 'ADMIN_ALLOW_ENDPOINTS unknown name', env: { ADMIN_ALLOW_ENDPOINTS: 'dicom-echo,echo-everything' }, variables: ['ADMIN_ALLOW_ENDPOINTS'], message: /echo-everything/ },
    { problem: 'ADMIN_ALLOW_ENDPOINTS name in the wrong case', env: { ADMIN_ALLOW_ENDPOINTS: 'Dicom-Echo' }, variables: ['ADMIN_ALLOW_ENDPOINTS'], message: /Dicom-Echo/ },
    { problem: 'FORWARD_IDENTITY_HEADERS not a boolean', env: { FORWARD_IDENTITY_HEADERS: 'on' }, variables: ['FORWARD_IDENTITY_HEADERS'], message: /true/ },
    { problem: 'TLS cert without key', env: { TLS_CERT_FILE: '/tls/cert.pem' }, variables: ['TLS_KEY_FILE'], message: /TLS_CERT_FILE/ },
    { problem: 'TLS key without cert', env: { TLS_KEY_FILE: '/tls/key.pem' }, variables: ['TLS_CERT_FILE'], message: /TLS_KEY_FILE/ },
    { problem: 'client cert without key', env: { ORTHANC_CLIENT_CERT_FILE: '/c.pem' }, variables: ['ORTHANC_CLIENT_KEY_FILE'], message: /ORTHANC_CLIENT_CERT_FILE/ },
    { problem: 'client key without cert', env: { ORTHANC_CLIENT_KEY_FILE: '/k.pem' }, variables: ['ORTHANC_CLIENT_CERT_FILE'], message: /ORTHANC_CLIENT_KEY_FILE/ },
    { problem: 'production without Redis and secret', env: { NODE_ENV: 'production' }, variables: ['REDIS_URL', 'SESSION_SECRET'], message: /production/ },
    { problem: 'production without Redis', env: { NODE_ENV: 'production', SESSION_SECRET: SECRET_32 }, variables: ['REDIS_URL'], message: /production/ },
    { problem: 'production without secret', env: { NODE_ENV: 'production', REDIS_URL: 'redis://r:6379' }, variables: ['SESSION_SECRET'], message: /production/ },
    { problem: 'short SESSION_SECRET', env: { SESSION_SECRET: 's'.repeat(31) }, variables: ['SESSION_SECRET'], message: /32/ },
    { problem: 'idle longer than max', env: { SESSION_IDLE_SECONDS: '3601', SESSION_MAX_SECONDS: '3600' }, variables: ['SESSION_IDLE_SECONDS'], message: /SESSION_MAX_SECONDS/ },
    { problem: 'idle above the default max', env: { SESSION_IDLE_SECONDS: '28801' }, variables: ['SESSION_IDLE_SECONDS'], message: /SESSION_MAX_SECONDS/ },
    { problem: 'SESSION_IDLE_SECONDS zero', env: { SESSION_IDLE_SECONDS: '0' }, variables: ['SESSION_IDLE_SECONDS'], message: /positive/ },
    { problem: 'SESSION_MAX_SECONDS not a number', env: { SESSION_MAX_SECONDS: 'long' }, variables: ['SESSION_MAX_SECONDS'], message: /positive/ },
    { problem: 'SHARE_CONFIRM_SECONDS zero', env: { SHARE_CONFIRM_SECONDS: '0' }, variables: ['SHARE_CONFIRM_SECONDS'], message: /positive/ },
    { problem: 'ORTHANC_TIMEOUT_MS zero', env: { ORTHANC_TIMEOUT_MS: '0' }, variables: ['ORTHANC_TIMEOUT_MS'], message: /positive/ },
    { problem: 'credentials not JSON', env: { ORTHANC_CREDENTIALS_BY_ROLE: '{pacs-admin: admin:pw}' }, variables: ['ORTHANC_CREDENTIALS_BY_ROLE'], message: /JSON/ },
    { problem: 'credentials a JSON array', env: { ORTHANC_CREDENTIALS_BY_ROLE: '["admin:pw"]' }, variables: ['ORTHANC_CREDENTIALS_BY_ROLE'], message: /record|object/ },
    { problem: 'credentials a JSON string', env: { ORTHANC_CREDENTIALS_BY_ROLE: '"admin:pw"' }, variables: ['ORTHANC_CREDENTIALS_BY_ROLE'], message: /record|object/ },
    { problem: 'credentials JSON null', env: { ORTHANC_CREDENTIALS_BY_ROLE: 'null' }, variables: ['ORTHANC_CREDENTIALS_BY_ROLE'], message: /record|object/ },
    { problem: 'AUDIT_SYSLOG_URL not syslog', env: { AUDIT_SYSLOG_URL: 'http://audit:514', AUDIT_SPOOL_DIR: '/s' }, variables: ['AUDIT_SYSLOG_URL'], message: /tls:\/\/host:port/ },
    { problem: 'AUDIT_SYSLOG_URL without port', env: { AUDIT_SYSLOG_URL: 'tls://audit.example.org', AUDIT_SPOOL_DIR: '/s' }, variables: ['AUDIT_SYSLOG_URL'], message: /port/ },
    { problem: 'audit transport without spool', env: { AUDIT_FHIR_URL: 'https://fhir.example.org/fhir' }, variables: ['AUDIT_SPOOL_DIR'], message: /AUDIT_FHIR_URL/ },
    { problem: 'syslog client cert without key', env: { AUDIT_SYSLOG_URL: 'tls://a:6514', AUDIT_SPOOL_DIR: '/s', AUDIT_SYSLOG_CERT_FILE: '/c.pem' }, variables: ['AUDIT_SYSLOG_KEY_FILE'], message: /AUDIT_SYSLOG_CERT_FILE/ },
    { problem: 'FHIR client cert without key', env: { AUDIT_FHIR_URL: 'https://f/fhir', AUDIT_SPOOL_DIR: '/s', AUDIT_FHIR_CERT_FILE: '/c.pem' }, variables: ['AUDIT_FHIR_KEY_FILE'], message: /AUDIT_FHIR_CERT_FILE/ },
    { problem: 'FHIR CA file with http://', env: { AUDIT_FHIR_URL: 'http://f/fhir', AUDIT_SPOOL_DIR: '/s', AUDIT_FHIR_CA_FILE: '/ca.pem' }, variables: ['AUDIT_FHIR_CA_FILE'], message: /https:\/\// },
    { problem: 'FHIR client id without secret', env: { AUDIT_FHIR_URL: 'https://f/fhir', AUDIT_SPOOL_DIR: '/s', AUDIT_FHIR_CLIENT_ID: 'audit-sender' }, variables: ['AUDIT_FHIR_CLIENT_SECRET'], message: /together with AUDIT_FHIR_CLIENT_ID/ },
    { problem: 'FHIR client secret without id', env: { AUDIT_FHIR_URL: 'https://f/fhir', AUDIT_SPOOL_DIR: '/s', AUDIT_FHIR_CLIENT_SECRET: 'x' }, variables: ['AUDIT_FHIR_CLIENT_ID'], message: /together with AUDIT_FHIR_CLIENT_SECRET/ },
    { problem: 'FHIR client credentials without AUDIT_FHIR_URL', env: { AUDIT_FHIR_CLIENT_ID: 'audit-sender', AUDIT_FHIR_CLIENT_SECRET: 'x' }, variables: ['AUDIT_FHIR_CLIENT_ID', 'AUDIT_FHIR_CLIENT_SECRET'], message: /only used with AUDIT_FHIR_URL/ },
    { problem: 'FHIR token URL without client credentials', env: { AUDIT_FHIR_URL: 'https://f/fhir', AUDIT_SPOOL_DIR: '/s', AUDIT_FHIR_TOKEN_URL: 'https://auth/token' }, variables: ['AUDIT_FHIR_TOKEN_URL'], message: /AUDIT_FHIR_CLIENT_ID/ },
    { problem: 'FHIR scope without client credentials', env: { AUDIT_FHIR_URL: 'https://f/fhir', AUDIT_SPOOL_DIR: '/s', AUDIT_FHIR_SCOPE: 'system/AuditEvent.c' }, variables: ['AUDIT_FHIR_SCOPE'], message: /AUDIT_FHIR_CLIENT_ID/ },
    { problem: 'FHIR token URL not http(s)', env: { AUDIT_FHIR_URL: 'https://f/fhir', AUDIT_SPOOL_DIR: '/s', AUDIT_FHIR_CLIENT_ID: 'a', AUDIT_FHIR_CLIENT_SECRET: 'x', AUDIT_FHIR_TOKEN_URL: 'auth.example.org/token' }, variables: ['AUDIT_FHIR_TOKEN_URL'], message: /http/ },
    { problem: 'FHIR scope blank', env: { AUDIT_FHIR_URL: 'https://f/fhir', AUDIT_SPOOL_DIR: '/s', AUDIT_FHIR_CLIENT_ID: 'a', AUDIT_FHIR_CLIENT_SECRET: 'x', AUDIT_FHIR_SCOPE: '   ' }, variables: ['AUDIT_FHIR_SCOPE'], message: /empty/ },
    { problem: 'syslog CA file with plain TCP', env: { AUDIT_SYSLOG_URL: 'tcp://a:514', AUDIT_SPOOL_DIR: '/s', AUDIT_SYSLOG_CA_FILE: '/ca.pem' }, variables: ['AUDIT_SYSLOG_CA_FILE'], message: /tls:\/\// },
    { problem: 'chained audit file with workers', env: { AUDIT_LOG_FILE: '/a.log', WORKERS: '2', REDIS_URL: 'redis://r:6379', SESSION_SECRET: SECRET_32 }, variables: ['AUDIT_LOG_FILE'], message: /WORKERS > 1/ },
    { problem: 'AUDIT_SPOOL_MAX_BYTES zero', env: { AUDIT_SPOOL_MAX_BYTES: '0' }, variables: ['AUDIT_SPOOL_MAX_BYTES'], message: /positive/ },
    { problem: 'credentials value without colon', env: { ORTHANC_CREDENTIALS_BY_ROLE: '{"pacs-admin":"adminpw"}' }, variables: ['ORTHANC_CREDENTIALS_BY_ROLE'], message: /user:password/ },
    { problem: 'CORS_ORIGINS not URLs', env: { CORS_ORIGINS: 'viewer.example.org' }, variables: ['CORS_ORIGINS'], message: /origins/ },
    { problem: 'CORS_ORIGINS one bad entry', env: { CORS_ORIGINS: 'https://ok.example,*' }, variables: ['CORS_ORIGINS'], message: /origins/ },
    { problem: 'ORTHANC_USERNAME with a colon', env: { ORTHANC_USERNAME: 'svc:x' }, variables: ['ORTHANC_USERNAME'], message: /:/ },
    { problem: 'role name with a space', env: { ROLE_ADMIN: 'pacs admin' }, variables: ['ROLE_ADMIN'], message: /role name/ },
    { problem: 'STUDY_ACCESS_CLAIM with spaces', env: { STUDY_ACCESS_CLAIM: 'my claim' }, variables: ['STUDY_ACCESS_CLAIM'], message: /claim name/ },
    { problem: 'STUDY_ACCESS_CLAIM with an empty path step', env: { STUDY_ACCESS_CLAIM: 'attributes..institution' }, variables: ['STUDY_ACCESS_CLAIM'], message: /claim name/ },
    { problem: 'unknown STUDY_ACCESS_ATTRIBUTE', env: { STUDY_ACCESS_CLAIM: 'institution', STUDY_ACCESS_ATTRIBUTE: 'PatientName' }, variables: ['STUDY_ACCESS_ATTRIBUTE'], message: /InstitutionName or PatientIDPrefix/ },
    { problem: 'SMART_CLIENTS with a space in an id', env: { SMART_CLIENTS: 'imaging app' }, variables: ['SMART_CLIENTS'], message: /client ids/ },
    { problem: 'SMART_PATIENT_CLAIM without SMART_CLIENTS', env: { SMART_PATIENT_CLAIM: 'patient' }, variables: ['SMART_PATIENT_CLAIM'], message: /SMART_CLIENTS/ },
    { problem: 'SMART_PATIENT_FHIR_URL without the identifier system', env: { SMART_CLIENTS: 'app', SMART_PATIENT_FHIR_URL: 'https://fhir.example.org' }, variables: ['SMART_PATIENT_IDENTIFIER_SYSTEM'], message: /together with SMART_PATIENT_FHIR_URL/ },
    { problem: 'SMART_PATIENT_FHIR_URL not http(s)', env: { SMART_CLIENTS: 'app', SMART_PATIENT_FHIR_URL: 'ftp://fhir', SMART_PATIENT_IDENTIFIER_SYSTEM: 'urn:x' }, variables: ['SMART_PATIENT_FHIR_URL'], message: /http/ },
    { problem: 'SMART_PATIENT_FHIR_URL without SMART_CLIENTS', env: { SMART_PATIENT_FHIR_URL: 'https://fhir.example.org', SMART_PATIENT_IDENTIFIER_SYSTEM: 'urn:x' }, variables: ['SMART_PATIENT_FHIR_URL'], message: /SMART_CLIENTS/ },
    { problem: 'SMART_PATIENT_ID_ISSUER without SMART_CLIENTS', env: { SMART_PATIENT_ID_ISSUER: 'HOSP-A' }, variables: ['SMART_PATIENT_ID_ISSUER'], message: /SMART_CLIENTS/ },
    { problem: 'SMART_PATIENT_ID_ISSUER blank', env: { SMART_CLIENTS: 'app', SMART_PATIENT_ID_ISSUER: '  ' }, variables: ['SMART_PATIENT_ID_ISSUER'], message: /empty/ },
    { problem: 'SMART_PATIENT_ID_ISSUER with a backslash', env: { SMART_CLIENTS: 'app', SMART_PATIENT_ID_ISSUER: 'A\\B' }, variables: ['SMART_PATIENT_ID_ISSUER'], message: /backslash/ },
    { problem: 'SMART_PATIENT_CLAIM with an empty path step', env: { SMART_CLIENTS: 'app', SMART_PATIENT_CLAIM: 'a..b' }, variables: ['SMART_PATIENT_CLAIM'], message: /claim name/ },
    { problem: 'STUDY_ACCESS_ATTRIBUTE without the claim', env: { STUDY_ACCESS_ATTRIBUTE: 'InstitutionName' }, variables: ['STUDY_ACCESS_ATTRIBUTE'], message: /STUDY_ACCESS_CLAIM/ },
    { problem: 'STUDY_ACCESS_BYPASS_ROLES without the claim', env: { STUDY_ACCESS_BYPASS_ROLES: 'pacs-admin' }, variables: ['STUDY_ACCESS_BYPASS_ROLES'], message: /STUDY_ACCESS_CLAIM/ },
    { problem: 'STUDY_ACCESS_BYPASS_ROLES with a bad name', env: { STUDY_ACCESS_CLAIM: 'institution', STUDY_ACCESS_BYPASS_ROLES: 'pacs admin' }, variables: ['STUDY_ACCESS_BYPASS_ROLES'], message: /role name/ },
    { problem: 'STUDY_ACCESS_CACHE_SECONDS too long', env: { STUDY_ACCESS_CACHE_SECONDS: '3601' }, variables: ['STUDY_ACCESS_CACHE_SECONDS'], message: /seconds/ },
    { problem: 'USER_MAX_CONCURRENT_REQUESTS negative', env: { USER_MAX_CONCURRENT_REQUESTS: '-1' }, variables: ['USER_MAX_CONCURRENT_REQUESTS'], message: /0-10000/ },
    { problem: 'USER_MAX_CONCURRENT_REQUESTS not a number', env: { USER_MAX_CONCURRENT_REQUESTS: 'many' }, variables: ['USER_MAX_CONCURRENT_REQUESTS'], message: /0-10000/ },
    { problem: 'QIDO_MAX_LIMIT zero', env: { QIDO_MAX_LIMIT: '0' }, variables: ['QIDO_MAX_LIMIT'], message: /positive/ },
    { problem: 'unknown LOG_LEVEL', env: { LOG_LEVEL: 'verbose' }, variables: ['LOG_LEVEL'], message: /info/ },
  ])('$problem', ({ env, variables, message }) => {
    const error = configError({ ...MINIMAL, ...env });
    expect(error.name).toBe('ConfigError');
    expect(variablesOf(error).sort()).toEqual([...variables].sort());
    for (const problem of error.problems) expect(problem).toMatch(message);
    for (const problem of error.problems) expect(error.message).toContain(problem);
  });

  it('reports every problem at once', () => {
    const error = configError({
      PORT: 'eighty',
      PUBLIC_URL: 'ftp://pacs.example.org',
      ORTHANC_URL: 'orthanc',
      TLS_CERT_FILE: '/tls/cert.pem',
      ORTHANC_CLIENT_KEY_FILE: '/mtls/key.pem',
      NODE_ENV: 'production',
      SESSION_IDLE_SECONDS: '7200',
      SESSION_MAX_SECONDS: '3600',
      ORTHANC_CREDENTIALS_BY_ROLE: '{broken',
      CORS_ORIGINS: 'nope',
      LOG_LEVEL: 'loud',
    });
    expect(new Set(variablesOf(error))).toEqual(
      new Set([
        'PORT',
        'PUBLIC_URL',
        'ORTHANC_URL',
        'OIDC_ISSUER',
        'ORTHANC_USERNAME',
        'ORTHANC_PASSWORD',
        'TLS_KEY_FILE',
        'ORTHANC_CLIENT_CERT_FILE',
        'REDIS_URL',
        'SESSION_SECRET',
        'SESSION_IDLE_SECONDS',
        'ORTHANC_CREDENTIALS_BY_ROLE',
        'CORS_ORIGINS',
        'LOG_LEVEL',
      ]),
    );
  });
});

describe('loadConfig: secrets never appear in errors', () => {
  const ORTHANC_PASSWORD = 'Orthanc-Pa55word-7f3a';
  const OIDC_CLIENT_SECRET = 'Client-S3cret-91bc';
  const SHORT_SESSION_SECRET = 'Short-Sess-Secret-42';

  it.each([
    { name: 'other variables invalid', env: { PORT: 'x', PUBLIC_URL: 'nope', TRUST_PROXY: 'maybe' } },
    { name: 'session secret too short', env: { SESSION_SECRET: SHORT_SESSION_SECRET } },
    { name: 'production without Redis', env: { NODE_ENV: 'production', SESSION_SECRET: SHORT_SESSION_SECRET } },
    { name: 'username with a colon', env: { ORTHANC_USERNAME: `svc:${ORTHANC_PASSWORD}` } },
    { name: 'credential value without colon', env: { ORTHANC_CREDENTIALS_BY_ROLE: `{"pacs-admin":"${ORTHANC_PASSWORD}"}` } },
    { name: 'credentials not JSON', env: { ORTHANC_CREDENTIALS_BY_ROLE: `{admin:${ORTHANC_PASSWORD}` } },
  ])('$name', ({ env }) => {
    const error = configError({ ...MINIMAL, ORTHANC_PASSWORD, OIDC_CLIENT_SECRET, ...env });
    const text = `${error.message}\n${error.problems.join('\n')}\n${String(error.stack)}`;
    for (const secret of [ORTHANC_PASSWORD, OIDC_CLIENT_SECRET, SHORT_SESSION_SECRET]) expect(text).not.toContain(secret);
  });
});

/** Regressions found by review: each once hid a problem or printed a secret. */
describe('loadConfig edge cases', () => {
  // A bad boolean must not stop the cross-variable checks (TLS pair, production requirements, idle ≤ max).
  it.each(['TRUST_PROXY', 'ADMIN_ALLOW_DANGEROUS', 'FORWARD_IDENTITY_HEADERS'])(
    'a bad boolean in %s still reports the cross-variable problems',
    (name) => {
      const error = configError({
        ...MINIMAL,
        [name]: 'maybe',
        TLS_CERT_FILE: '/tls/cert.pem',
        NODE_ENV: 'production',
        SESSION_IDLE_SECONDS: '7200',
        SESSION_MAX_SECONDS: '3600',
      });
      expect(new Set(variablesOf(error))).toEqual(new Set([name, 'TLS_KEY_FILE', 'REDIS_URL', 'SESSION_SECRET', 'SESSION_IDLE_SECONDS']));
    },
  );

  // Only the variable is named: a swapped mapping ({"user:password": "role"}) must not print the password.
  it('a swapped ORTHANC_CREDENTIALS_BY_ROLE mapping does not print the password', () => {
    const error = configError({ ...MINIMAL, ORTHANC_CREDENTIALS_BY_ROLE: '{"svc:Sup3rS3cret!":"pacs-admin"}' });
    expect(variablesOf(error)).toEqual(['ORTHANC_CREDENTIALS_BY_ROLE']);
    expect(error.message).not.toContain('Sup3rS3cret!');
  });

  it('a non-string credential value is not reported as "is required"', () => {
    const error = configError({ ...MINIMAL, ORTHANC_CREDENTIALS_BY_ROLE: '{"pacs-admin":5}' });
    expect(variablesOf(error)).toEqual(['ORTHANC_CREDENTIALS_BY_ROLE']);
    expect(error.problems.join('\n')).not.toMatch(/is required/);
  });

  // A blank PORT must not become port 0 (a random port).
  it.each([' ', '\t'])('a blank PORT (%j) is refused', (value) => {
    expect(variablesOf(configError({ ...MINIMAL, PORT: value }))).toEqual(['PORT']);
  });
});

describe('loadConfig: WORKERS', () => {
  it('defaults to 1 and reads a number of processes', () => {
    expect(loadConfig(MINIMAL).workers).toBe(1);
    expect(loadConfig({ ...MINIMAL, WORKERS: '4', REDIS_URL: 'redis://127.0.0.1:6379', SESSION_SECRET: SECRET_32 }).workers).toBe(4);
  });

  it.each(['0', '-1', 'two', '65', '1.5'])('refuses WORKERS=%p', (value) => {
    expect(variablesOf(configError({ ...MINIMAL, WORKERS: value }))).toContain('WORKERS');
  });

  it('needs a shared session store and secret for more than one worker', () => {
    expect(variablesOf(configError({ ...MINIMAL, WORKERS: '2' })).sort()).toEqual(['REDIS_URL', 'SESSION_SECRET']);
  });
});

describe('loadConfig: OIDC_TOKEN_VALIDATION', () => {
  const INTROSPECTION: Env = { ...MINIMAL, OIDC_TOKEN_VALIDATION: 'introspection', OIDC_CLIENT_SECRET: 'client-secret' };

  it('defaults to jwt; introspection caches answers for 30 s unless told otherwise', () => {
    expect(loadConfig(MINIMAL).oidc.tokenValidation).toEqual({ mode: 'jwt' });
    expect(loadConfig(INTROSPECTION).oidc.tokenValidation).toEqual({ mode: 'introspection', cacheSeconds: 30 });
    expect(loadConfig({ ...INTROSPECTION, OIDC_INTROSPECTION_CACHE_SECONDS: '0' }).oidc.tokenValidation).toEqual({ mode: 'introspection', cacheSeconds: 0 });
    expect(loadConfig({ ...INTROSPECTION, OIDC_INTROSPECTION_CACHE_SECONDS: '300' }).oidc.tokenValidation).toEqual({ mode: 'introspection', cacheSeconds: 300 });
  });

  it.each(['opaque', 'JWT'])('refuses OIDC_TOKEN_VALIDATION=%p', (value) => {
    expect(variablesOf(configError({ ...MINIMAL, OIDC_TOKEN_VALIDATION: value }))).toEqual(['OIDC_TOKEN_VALIDATION']);
  });

  // Bounded: a revoked token keeps working until its cache entry ends.
  it.each(['301', '3600', '-1', '1.5', 'soon'])('refuses OIDC_INTROSPECTION_CACHE_SECONDS=%p', (value) => {
    expect(variablesOf(configError({ ...INTROSPECTION, OIDC_INTROSPECTION_CACHE_SECONDS: value }))).toEqual(['OIDC_INTROSPECTION_CACHE_SECONDS']);
  });

  it('needs the client secret for introspection (the endpoint authenticates the gateway)', () => {
    expect(variablesOf(configError({ ...MINIMAL, OIDC_TOKEN_VALIDATION: 'introspection' }))).toEqual(['OIDC_CLIENT_SECRET']);
  });

  it('refuses a cache setting without introspection (it would do nothing)', () => {
    expect(variablesOf(configError({ ...MINIMAL, OIDC_INTROSPECTION_CACHE_SECONDS: '10' }))).toEqual(['OIDC_INTROSPECTION_CACHE_SECONDS']);
  });
});
