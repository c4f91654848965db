import { idpErrorPage } from '../../../src/auth/idp-errors.js';
import { describe, expect, it } from '@jest/globals';

describe('idpErrorPage: a fixed page per OAuth error code', () => {
  it.each([
    ['access_denied', 403, /did not allow/],
    ['login_required', 400, /needs you to sign in/],
    ['interaction_required', 400, /complete the sign-in/],
    ['consent_required', 400, /consent/],
    ['temporarily_unavailable', 503, /temporarily unavailable/],
    ['server_error', 503, /internal error/],
    ['invalid_request', 400, /rejected the sign-in request/],
    ['invalid_scope', 400, /scopes/],
    ['unauthorized_client', 400, /does not accept this application/],
  ])('%s → %i', (code, status, message) => {
    const page = idpErrorPage(code);
    expect(page.status).toBe(status);
    expect(page.message).toMatch(message);
  });

  it.each(['', 'ACCESS_DENIED', 'constructor', '__proto__', 'toString', '<script>alert(1)</script>', 'x'.repeat(5000)])(
    'an unknown code %# gets the generic page, which never contains the code',
    (code) => {
      const page = idpErrorPage(code);
      expect(page).toEqual({ status: 400, title: 'Sign-in failed', message: 'The identity provider reported an error. Please sign in again.', steps: ['sign-in-again'] });
    },
  );
});
