import { evaluate, type PolicyOptions, type Subject } from './evaluate.js';
import type { Route } from './routes.js';

/** What the viewer offers a signed-in user; the gateway still decides every request on its own. */
export interface ViewerAbilities {
  /** STOW-RS uploads (OHIF's Upload button). */
  upload: boolean;
  /** Orthanc Explorer at /pacs-admin/. */
  admin: boolean;
  /** Study share links (SHARE_ROLES); never for a share-link recipient. */
  share: boolean;
}

const UPLOAD: Route = { class: 'dicomweb-store', prefix: '/pacs', upstreamPath: '/dicom-web/studies' };
const EXPLORER: Route = { class: 'admin', prefix: '/pacs-admin', upstreamPath: '/app/explorer.html' };

/** Who may create share links: a user (not a link recipient) holding one of `shareRoles`. */
export const mayShare = (subject: Subject, shareRoles: readonly string[]) =>
  subject.studyScope === undefined && shareRoles.some((role) => subject.roles.includes(role));

/** Asked of the policy itself, so the viewer never offers what a request would be refused. */
export function viewerAbilities(subject: Subject, options: PolicyOptions, shareRoles: readonly string[]): ViewerAbilities {
  return {
    upload: evaluate(UPLOAD, subject, options).outcome === 'allow',
    admin: evaluate(EXPLORER, subject, options).outcome === 'allow',
    share: mayShare(subject, shareRoles),
  };
}
