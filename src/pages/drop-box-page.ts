import { Router } from 'express';
import type { BrowserSessions } from '../auth/browser-sessions.js';
import { GatewayError } from '../errors.js';
import type { PolicyOptions } from '../policy/evaluate.js';
import { viewerAbilities } from '../policy/viewer-abilities.js';
import { DROP_BOX_SCRIPT } from './drop-box-script.js';
import { sendErrorPage } from '../respond/error-page.js';
import { PAGES } from '../respond/gateway-pages.js';
import { escapeHtml, sendDocument, type PageDocument } from '../respond/page-document.js';
import { refuseForbidden } from '../respond/refusal.js';
import { DROP_BOX_PAGE } from './share-routes.js';

const STYLES = [
  'input[type=file]{display:block;width:100%;margin:.5rem 0 1rem;font:inherit}',
  'label{display:block;font-weight:600}',
  'progress{display:block;width:100%;height:1rem;margin:1rem 0}',
  '#status{min-height:1.5rem;font-weight:600}',
].join('');

/** The upload page; `sharedBy`: the name of the user who shared the drop box (absent for a signed-in uploader). */
export function dropBoxDocument(sharedBy: string | undefined): PageDocument {
  const forWhom = sharedBy === undefined ? '' : ` This drop box was shared by ${escapeHtml(sharedBy)}.`;
  return {
    title: 'Send studies',
    styles: STYLES,
    script: DROP_BOX_SCRIPT,
    main:
      '<p class="brand">Image archive</p><h1>Send studies</h1>' +
      `<p>Choose the DICOM files of the studies to send to the image archive.${forWhom}</p>` +
      '<p>This page only sends: it shows no studies, not even the ones you send.</p>' +
      '<form id="upload"><label for="files">DICOM files</label><input id="files" type="file" multiple>' +
      '<button id="send" class="primary" type="submit">Send</button></form>' +
      '<progress id="progress" hidden value="0" max="1"></progress>' +
      '<p id="status" role="status" aria-live="polite"></p>',
  };
}

/**
 * GET /share/upload: where a drop-box link lands. The holder of a drop-box session gets the page; a
 * signed-in user who opened the link keeps their own session and gets it when they may upload
 * themselves. Each upload is decided again by the policy like any STOW-RS request.
 */
export function dropBoxPage({ sessions, policy, shareRoles }: { sessions: BrowserSessions; policy: PolicyOptions; shareRoles: readonly string[] }): Router {
  const router = Router({ caseSensitive: true, strict: true });
  router.get(DROP_BOX_PAGE, async (req, res) => {
    const principal = await sessions.principal(req).catch(() => {
      throw new GatewayError('service_unavailable', 'The session store is unavailable; try again shortly');
    });
    if (!principal || (principal.via === 'share' && !principal.dropBox)) return sendErrorPage(res, PAGES.shareLinkInvalid);
    if (!principal.dropBox && !viewerAbilities(principal, policy, shareRoles).upload) {
      return refuseForbidden(req, res, principal, new GatewayError('forbidden', 'Uploads require the uploader role'), PAGES.archiveForbidden);
    }
    sendDocument(res, 200, dropBoxDocument(principal.sharedBy?.username));
  });
  return router;
}
