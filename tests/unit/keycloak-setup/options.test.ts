import { describe, expect, it } from '@jest/globals';
import { parseOptions, UsageError } from '../../../src/keycloak-setup/options.js';

const ADMIN_USER = { KEYCLOAK_ADMIN_USERNAME: 'admin', KEYCLOAK_ADMIN_PASSWORD: 'pw' };
const BASE = ['--url', 'https://kc.example.org/', '--realm', 'hospital', '--public-url', 'https://pacs.example.org/'];

function usageError(argv: string[], env: Record<string, string> = ADMIN_USER): string {
  try {
    parseOptions(argv, env);
  } catch (error) {
    if (error instanceof UsageError) return error.message;
    throw error;
  }
  throw new Error(`expected a UsageError for ${argv.join(' ')}`);
}

describe('parseOptions', () => {
  it("reads the command, URLs without trailing slashes and the gateway's defaults", () => {
    expect(parseOptions(['doctor', ...BASE], ADMIN_USER)).toEqual({
      command: 'doctor',
      url: 'https://kc.example.org',
      realm: 'hospital',
      expectations: {
        publicUrl: 'https://pacs.example.org',
        clientId: 'orthanc-gateway',
        audience: 'orthanc-gateway',
        roles: ['pacs-viewer', 'pacs-uploader', 'pacs-admin'],
        groupsMapper: false,
        ohifClientId: undefined,
        smartClients: [],
        patientClaim: 'patient',
        tokenValidation: 'jwt',
        maxAccessTokenSeconds: 900,
      },
      credentials: { kind: 'user', username: 'admin', password: 'pw', realm: 'master', clientId: 'admin-cli' },
      json: false,
      showSecret: false,
    });
  });

  it("takes the gateway's own variables (PUBLIC_URL, OIDC_*, ROLE_*) when options are absent", () => {
    const env = { ...ADMIN_USER, PUBLIC_URL: 'https://gw.example', OIDC_CLIENT_ID: 'gw', OIDC_TOKEN_VALIDATION: 'introspection', ROLE_VIEWER: 'readers' };
    const { expectations } = parseOptions(['setup', '--url', 'https://kc', '--realm', 'r', '--ohif'], env);
    expect(expectations).toMatchObject({ publicUrl: 'https://gw.example', clientId: 'gw', audience: 'gw', tokenValidation: 'introspection', ohifClientId: 'ohif-viewer' });
    expect(expectations.roles[0]).toBe('readers');
  });

  it('takes the SMART clients from --smart-clients, else SMART_CLIENTS, and the claim from SMART_PATIENT_CLAIM', () => {
    const env = { ...ADMIN_USER, SMART_CLIENTS: 'portal, ehr-app', SMART_PATIENT_CLAIM: 'ext.patient' };
    expect(parseOptions(['doctor', ...BASE], env).expectations).toMatchObject({ smartClients: ['portal', 'ehr-app'], patientClaim: 'ext.patient' });
    expect(parseOptions(['setup', ...BASE, '--smart-clients', 'kiosk'], env).expectations.smartClients).toEqual(['kiosk']);
  });

  it('takes the audit client from --audit-client/--audit-scope, else AUDIT_FHIR_CLIENT_ID/AUDIT_FHIR_SCOPE when its tokens come from this realm (openid is no client scope)', () => {
    const env = { ...ADMIN_USER, AUDIT_FHIR_CLIENT_ID: 'audit-sender', AUDIT_FHIR_SCOPE: 'openid system/AuditEvent.c  extra' };
    expect(parseOptions(['doctor', ...BASE], env).expectations.auditClient).toEqual({ clientId: 'audit-sender', audience: undefined, scopes: ['system/AuditEvent.c', 'extra'] });
    expect(parseOptions(['setup', ...BASE, '--audit-client', 'sender', '--audit-audience', 'fhir', '--audit-scope', 'a b'], env).expectations.auditClient)
      .toEqual({ clientId: 'sender', audience: 'fhir', scopes: ['a', 'b'] });
    const realmTokenUrl = { ...env, AUDIT_FHIR_TOKEN_URL: 'https://kc.example.org/realms/hospital/protocol/openid-connect/token' };
    expect(parseOptions(['doctor', ...BASE], realmTokenUrl).expectations.auditClient?.clientId).toBe('audit-sender');
    const otherServer = { ...env, AUDIT_FHIR_TOKEN_URL: 'https://fhir.example.org/auth/token' };
    expect(parseOptions(['doctor', ...BASE], otherServer).expectations.auditClient).toBeUndefined();
    expect(parseOptions(['doctor', ...BASE], ADMIN_USER).expectations.auditClient).toBeUndefined();
  });

  it('uses a service-account client when no admin user is given', () => {
    const env = { KEYCLOAK_ADMIN_CLIENT_ID: 'gw-setup', KEYCLOAK_ADMIN_CLIENT_SECRET: 's' };
    expect(parseOptions(['setup', ...BASE, '--admin-realm', 'hospital'], env).credentials).toEqual({ kind: 'client', clientId: 'gw-setup', clientSecret: 's', realm: 'hospital' });
  });

  it.each<[string, string[], Record<string, string>?, string?]>([
    ['no command', BASE, undefined, 'setup" or "doctor'],
    ['an unknown command', ['repair', ...BASE], undefined, 'setup" or "doctor'],
    ['no realm', ['doctor', '--url', 'https://kc', '--public-url', 'https://gw'], undefined, '--realm'],
    ['no Keycloak URL', ['doctor', '--realm', 'r', '--public-url', 'https://gw'], undefined, '--url'],
    ['a non-http URL', ['doctor', ...BASE, '--url', 'ftp://kc'], undefined, '--url'],
    ['no public URL', ['doctor', '--url', 'https://kc', '--realm', 'r'], undefined, '--public-url'],
    ['an unknown option', ['doctor', ...BASE, '--force'], undefined, 'force'],
    ['a bad token validation', ['doctor', ...BASE, '--token-validation', 'opaque'], undefined, '--token-validation'],
    ['a bad lifespan bound', ['doctor', ...BASE, '--max-access-token-seconds', '0'], undefined, '--max-access-token-seconds'],
    ['no admin credentials', ['doctor', ...BASE], {}, 'KEYCLOAK_ADMIN_USERNAME'],
    ['an audit scope without an audit client', ['setup', ...BASE, '--audit-scope', 'system/AuditEvent.c'], undefined, '--audit-client'],
    ['a user without password', ['doctor', ...BASE], { KEYCLOAK_ADMIN_USERNAME: 'admin' }, 'KEYCLOAK_ADMIN_PASSWORD'],
  ])('refuses %s, saying what is wrong', (_name, argv, env, message) => {
    expect(usageError(argv, env ?? ADMIN_USER)).toContain(message);
  });
});
