import { AuditTokenError, type AuditTokenSource } from './fhir-token.js';
import type { Logger } from '../observability/logger.js';

/**
 * Start-up check of the FHIR audit transport's OAuth client: one token, fetched when the gateway
 * starts (and kept for the first message), so a wrong secret or scope shows at start, not at the
 * first audited request. A failure never stops the gateway: records wait in the spool.
 */

const HINTS: Record<string, string> = {
  invalid_client: 'the token endpoint does not accept the client id and secret (AUDIT_FHIR_CLIENT_ID, AUDIT_FHIR_CLIENT_SECRET)',
  // Keycloak also says so to a wrong secret ("Invalid client or Invalid client credentials").
  unauthorized_client: 'the client id or secret is wrong, or the client may not use the client credentials grant (Keycloak: its service account is off)',
  invalid_scope: 'the client may not ask for AUDIT_FHIR_SCOPE (Keycloak: not one of its client scopes)',
};
const NO_ANSWER = 'the token endpoint gave no OAuth answer (unreachable, or not a token endpoint: OIDC_ISSUER\'s discovery or AUDIT_FHIR_TOKEN_URL)';

/** The log line of a failed start-up token fetch: what went wrong in the IdP's words, and what that means. */
export function auditTokenFinding(error: unknown): string {
  if (!(error instanceof AuditTokenError)) return `start-up check: the FHIR audit token failed unexpectedly: ${String(error)}`;
  const hint = error.oauthError === undefined ? NO_ANSWER : (HINTS[error.oauthError] ?? 'the token endpoint refused the request');
  return `start-up check: ${error.message} — ${hint}; audit records wait in the spool until it is fixed (npm run keycloak -- doctor checks the client)`;
}

/** Fetches one token and logs the outcome; resolves either way (callers need not wait). */
export async function checkAuditToken(tokens: AuditTokenSource, clientId: string, logger: Logger): Promise<void> {
  try {
    await tokens.get();
    logger.info({ check: 'audit-fhir-token', client: clientId }, 'start-up check: the FHIR audit client got an access token');
  } catch (error) {
    logger.warn({ check: 'audit-fhir-token', client: clientId }, auditTokenFinding(error));
  }
}
