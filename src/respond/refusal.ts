import type { Request, Response } from 'express';
import { BEARER_REALM } from '../auth/bearer.js';
import type { Principal } from '../auth/principal.js';
import { GatewayError } from '../errors.js';
import { isBrowserNavigation } from './browser-request.js';
import { sendError } from './error-handler.js';
import { sendErrorPage } from './error-page.js';
import { PAGES, type GatewayPage } from './gateway-pages.js';
import { requestState } from './request-state.js';

/**
 * How the gateway says "no": a person loading a page gets the sign-in or a "no access" page; API
 * clients (fetch/XHR, Bearer) get the JSON error. browser-request.ts tells the two apart.
 */

const loginRedirectFor = (req: Request) => `/auth/login?returnTo=${encodeURIComponent(req.originalUrl)}`;

/** Not signed in: a page load goes to the sign-in, anything else is a 401 with a Bearer challenge (never Basic). */
export function refuseUnauthenticated(req: Request, res: Response): void {
  if (!isBrowserNavigation(req)) {
    throw new GatewayError('unauthenticated', 'Authentication required: sign in, or send Authorization: Bearer <access token>', {
      'www-authenticate': `Bearer realm="${BEARER_REALM}"`,
    });
  }
  requestState(res).loginRedirect = true;
  res.redirect(302, loginRedirectFor(req));
}

/** Whom a page names as signed in: nobody for a share link's recipient, who never signed in. */
const signedInAs = (principal: Principal | null | undefined) => (principal && principal.via !== 'share' ? { signedInAs: principal.username } : {});

/** Signed in without the right: a page load gets `page` (with the user's name and a Sign-out button); API clients get `error`. */
export function refuseForbidden(req: Request, res: Response, principal: Principal, error: GatewayError, page: GatewayPage): void {
  if (!isBrowserNavigation(req) || principal.via === 'bearer') throw error;
  requestState(res).error = error; // metrics and the audit trail count it like the JSON 403
  sendErrorPage(res, page, signedInAs(principal));
}

/**
 * What a study-scoped user (share link, per-study access from claims) hears about a study that does
 * not exist and about one that is not theirs, alike: same status, same body, same page.
 */
export const STUDY_NOT_FOUND = 'No such study, or not one you may see';

/** The gateway's own "not yours" (policy or per-study access): a 404, counted as a refusal in metrics and audit. */
export const studyNotYours = () => new GatewayError('not_found', STUDY_NOT_FOUND, {}, 'forbidden');

/** Orthanc's "no such thing" for a study-scoped user: the same answer, but not a refusal. */
export const studyNotFound = () => new GatewayError('not_found', STUDY_NOT_FOUND);

/** Answers `error` (one of the two above): a page for a browser's page load, else the JSON error. */
export function answerStudyNotFound(req: Request, res: Response, error: GatewayError): void {
  if (!isBrowserNavigation(req) || requestState(res).principal?.via === 'bearer') return sendError(res, error);
  requestState(res).error = error;
  sendErrorPage(res, PAGES.studyNotFound, signedInAs(requestState(res).principal));
}
