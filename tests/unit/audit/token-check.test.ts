import { describe, expect, it } from '@jest/globals';
import { AuditTokenError } from '../../../src/audit/fhir-token.js';
import { auditTokenFinding } from '../../../src/audit/token-check.js';

describe('the start-up finding of a failed FHIR audit token', () => {
  const failure = (oauthError?: string) => new AuditTokenError(`no access token for the FHIR audit server (client audit-sender): ${oauthError ?? 'fetch failed: ECONNREFUSED'}`, oauthError);

  it.each<[string, string | undefined, RegExp]>([
    ['a wrong client id or secret', 'invalid_client', /AUDIT_FHIR_CLIENT_ID, AUDIT_FHIR_CLIENT_SECRET/],
    ["Keycloak's wrong secret, or no service account", 'unauthorized_client', /secret is wrong.*service account is off/],
    ['a scope the client may not have', 'invalid_scope', /may not ask for AUDIT_FHIR_SCOPE/],
    ['another OAuth error', 'invalid_request', /refused the request/],
    ['no answer', undefined, /gave no OAuth answer.*AUDIT_FHIR_TOKEN_URL/],
  ])('%s: the IdP\'s words, what they mean, and that records wait', (_name, oauthError, hint) => {
    const line = auditTokenFinding(failure(oauthError));
    expect(line).toMatch(/^start-up check: no access token for the FHIR audit server \(client audit-sender\)/);
    expect(line).toMatch(hint);
    expect(line).toContain('audit records wait in the spool');
  });
});
