/**
 * What the gateway's own pages say: one fixed text per situation and the next step a person can
 * take. Nothing here comes from the request (URL, query, headers): anyone can craft a link to the
 * gateway, and its origin must not display their words.
 */

/** A next step offered on a page; error-page.ts turns each into a link, a button or a hint. */
export type NextStep = 'sign-in-again' | 'back-to-viewer' | 'back-to-explorer' | 'try-again' | 'sign-out' | 'ask-sharer';

export interface GatewayPage {
  status: number;
  title: string;
  message: string;
  /** The first one is the main action. */
  steps: readonly NextStep[];
}

const page = (status: number, title: string, message: string, steps: readonly NextStep[]): GatewayPage => ({ status, title, message, steps });

export const PAGES = {
  signedOut: page(200, 'Signed out', 'You have been signed out of the image archive. You can close this window, or sign in again.', ['sign-in-again']),
  signInExpired: page(400, 'Sign-in expired', 'This sign-in attempt is unknown, expired or already used.', ['sign-in-again']),
  signInFailed: page(400, 'Sign-in failed', 'The sign-in could not be verified.', ['sign-in-again']),
  identityProviderUnavailable: page(
    503,
    'Identity provider unavailable',
    'The sign-in service (identity provider) cannot be reached right now. Please try again in a few minutes.',
    ['try-again'],
  ),
  noPacsRole: page(403, 'No access to the image archive', 'This account has no PACS role. Ask an administrator for access.', ['sign-out']),
  archiveForbidden: page(403, 'No access to the image archive', 'This account may not open this part of the image archive. Ask an administrator if you need it.', [
    'back-to-viewer',
    'sign-out',
  ]),
  adminForbidden: page(403, 'No access to Orthanc administration', 'Orthanc administration is for the administrator role only.', ['back-to-viewer', 'sign-out']),
  blockedEndpoint: page(
    403,
    'This Orthanc function is turned off',
    'The gateway keeps this function of Orthanc closed, for administrators too. Your operator can open it in the gateway’s configuration.',
    ['back-to-explorer', 'sign-out'],
  ),
  shareForbidden: page(403, 'No access to share links', 'Share links are for the roles that may share studies. Ask an administrator if you need them.', [
    'back-to-viewer',
    'sign-out',
  ]),
  studyNotFound: page(404, 'Study not found', 'No such study, or not one you may see.', ['back-to-viewer', 'sign-out']),
  shareLinkInvalid: page(404, 'Link not valid', 'This share link is unknown, expired or revoked.', ['ask-sharer']),
  shareLinkUsedUp: page(410, 'Link used up', 'This share link has been opened as many times as the person who shared it allowed.', ['ask-sharer']),
  shareLinkPaused: page(403, 'Link paused', 'This share link works again once the person who shared it has signed in again.', ['ask-sharer']),
  temporarilyUnavailable: page(503, 'Temporarily unavailable', 'The image archive cannot answer right now. Please try again in a few minutes.', [
    'try-again',
    'back-to-viewer',
  ]),
  rateLimited: page(429, 'Too many attempts', 'Too many requests came from this address in a short time. Please wait a minute, then try again.', ['try-again']),
} as const satisfies Record<string, GatewayPage>;
