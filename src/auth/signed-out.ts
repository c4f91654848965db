/**
 * Where the identity provider sends the browser after RP-initiated logout: a page that says so,
 * not `/`, which would start the next sign-in at once (on a shared workstation the next person
 * would land on the login form with no word that the last user was signed out).
 */
export const SIGNED_OUT_PATH = '/auth/signed-out';
