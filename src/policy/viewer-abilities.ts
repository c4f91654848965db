import { evaluate, type PolicyOptions, type Subject } from './evaluate.js';
import type { Route } from './routes.js';

/** What the viewer offers a signed-in user; the gateway still decides every request on its own. */
export interface ViewerAbilities {
  /** STOW-RS uploads (OHIF's Upload button). */
  upload: boolean;
  /** Orthanc Explorer at /pacs-admin/. */
  admin: boolean;
}

const UPLOAD: Route = { class: 'dicomweb-store', prefix: '/pacs', upstreamPath: '/dicom-web/studies' };
const EXPLORER: Route = { class: 'admin', prefix: '/pacs-admin', upstreamPath: '/app/explorer.html' };

/** Asked of the policy itself, so the viewer never offers what a request would be refused. */
export function viewerAbilities(subject: Subject, options: PolicyOptions): ViewerAbilities {
  return {
    upload: evaluate(UPLOAD, subject, options).outcome === 'allow',
    admin: evaluate(EXPLORER, subject, options).outcome === 'allow',
  };
}
