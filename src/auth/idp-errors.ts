/**
 * What the sign-in error page says when the IdP redirects back with `?error=…`. The page shows a
 * fixed text chosen by the error code and never the callback's own text (`error_description`, or an
 * unknown code): anyone can craft a callback link, and the gateway's origin must not display
 * their words, escaped or not.
 */
import type { GatewayPage, NextStep } from '../respond/gateway-pages.js';

export type IdpErrorPage = GatewayPage & { status: 400 | 403 | 503 };

const TRY_AGAIN = 'Please sign in again.';
/** The callback cannot be retried: every page's next step is a new sign-in. */
const SIGN_IN: readonly NextStep[] = ['sign-in-again'];

const BY_CODE: Record<string, IdpErrorPage> = {
  access_denied: { status: 403, title: 'Sign-in refused', message: `The identity provider did not allow this sign-in. ${TRY_AGAIN}`, steps: SIGN_IN },
  login_required: { status: 400, title: 'Sign-in required', message: `The identity provider needs you to sign in. ${TRY_AGAIN}`, steps: SIGN_IN },
  interaction_required: { status: 400, title: 'Sign-in required', message: `The identity provider needs you to complete the sign-in. ${TRY_AGAIN}`, steps: SIGN_IN },
  consent_required: { status: 400, title: 'Consent required', message: `The identity provider needs your consent for this application. ${TRY_AGAIN}`, steps: SIGN_IN },
  account_selection_required: { status: 400, title: 'Sign-in required', message: `The identity provider needs you to choose an account. ${TRY_AGAIN}`, steps: SIGN_IN },
  temporarily_unavailable: {
    status: 503,
    title: 'Identity provider unavailable',
    message: 'The sign-in service (identity provider) is temporarily unavailable. Please try again in a few minutes.',
    steps: SIGN_IN,
  },
  server_error: { status: 503, title: 'Identity provider unavailable', message: 'The sign-in service (identity provider) had an internal error. Please try again in a few minutes.', steps: SIGN_IN },
  invalid_request: { status: 400, title: 'Sign-in failed', message: `The identity provider rejected the sign-in request. ${TRY_AGAIN}`, steps: SIGN_IN },
  invalid_scope: { status: 400, title: 'Sign-in failed', message: 'The identity provider rejected the requested scopes. Please contact an administrator.', steps: SIGN_IN },
  unauthorized_client: { status: 400, title: 'Sign-in failed', message: 'The identity provider does not accept this application. Please contact an administrator.', steps: SIGN_IN },
  unsupported_response_type: { status: 400, title: 'Sign-in failed', message: 'The identity provider does not accept this application. Please contact an administrator.', steps: SIGN_IN },
};

const FALLBACK: IdpErrorPage = { status: 400, title: 'Sign-in failed', message: `The identity provider reported an error. ${TRY_AGAIN}`, steps: SIGN_IN };

/** The page for an `error` code of the authorization response (RFC 6749 4.1.2.1, OIDC Core 3.1.2.6). */
export function idpErrorPage(code: string): IdpErrorPage {
  return Object.hasOwn(BY_CODE, code) ? BY_CODE[code]! : FALLBACK;
}

