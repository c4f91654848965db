import type { Request } from 'express';
import type { BrowserSessions } from '../auth/browser-sessions.js';
import type { Principal } from '../auth/principal.js';
import { GatewayError } from '../errors.js';
import type { PolicyOptions } from '../policy/evaluate.js';
import { viewerAbilities } from '../policy/viewer-abilities.js';

/** What ohif/app-config.js reads from `window.gatewayUser` to fit the viewer to the signed-in user. */
export interface ViewerUser {
  name: string;
  canUpload: boolean;
  isAdmin: boolean;
  /** Offered the share links page (/share-links). */
  canShare: boolean;
}

export function viewerUserOf(principal: Principal, policy: PolicyOptions, shareRoles: readonly string[]): ViewerUser {
  const abilities = viewerAbilities(principal, policy, shareRoles);
  return { name: principal.name ?? principal.username, canUpload: abilities.upload, isAdmin: abilities.admin, canShare: abilities.share };
}

/**
 * The line put in front of OHIF's app-config.js. JSON is a JavaScript expression; `<` and the two
 * line separators JSON allows but older parsers do not are escaped as well.
 */
export function viewerUserScript(user: ViewerUser | null): string {
  const json = JSON.stringify(user).replace(/[<\u2028\u2029]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return `window.gatewayUser = ${json};\n`;
}

/** The preamble for this request's session (null when not signed in: the viewer's pages ask for sign-in anyway). */
export function sessionViewerUser(sessions: BrowserSessions, policy: PolicyOptions, shareRoles: readonly string[]): (req: Request) => Promise<string> {
  return async (req) => {
    const principal = await sessions.principal(req).catch(() => {
      throw new GatewayError('service_unavailable', 'The session store is unavailable; try again shortly');
    });
    return viewerUserScript(principal ? viewerUserOf(principal, policy, shareRoles) : null);
  };
}
