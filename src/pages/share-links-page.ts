import { Router } from 'express';
import type { BrowserSessions } from '../auth/browser-sessions.js';
import { GatewayError } from '../errors.js';
import type { PolicyOptions } from '../policy/evaluate.js';
import { mayShare, viewerAbilities } from '../policy/viewer-abilities.js';
import { PAGES } from '../respond/gateway-pages.js';
import { escapeHtml, sendDocument, type PageDocument } from '../respond/page-document.js';
import { refuseForbidden, refuseUnauthenticated } from '../respond/refusal.js';
import { SHARE_LINKS_SCRIPT } from './share-links-script.js';

export interface ShareLinksPageOptions {
  sessions: BrowserSessions;
  /** SHARE_ROLES and SHARE_MAX_SECONDS. */
  share: { roles: readonly string[]; maxSeconds: number };
  /** Decides whether the user may upload, and so create drop-box links. */
  policy: PolicyOptions;
}

const LIFETIMES: ReadonlyArray<[number, string]> = [
  [3_600, '1 hour'],
  [86_400, '1 day'],
  [604_800, '7 days'],
  [2_592_000, '30 days'],
];

/** The lifetimes offered: the usual ones up to SHARE_MAX_SECONDS (or that maximum alone), one day preselected when offered. */
export function lifetimeChoices(maxSeconds: number): Array<{ seconds: number; label: string; selected: boolean }> {
  const offered = LIFETIMES.filter(([seconds]) => seconds <= maxSeconds);
  const choices = offered.length > 0 ? offered : [[maxSeconds, `${Math.floor(maxSeconds / 60)} minutes`] as [number, string]];
  const preselected = choices.some(([seconds]) => seconds === 86_400) ? 86_400 : choices[0]![0];
  return choices.map(([seconds, label]) => ({ seconds, label, selected: seconds === preselected }));
}

/** How many openings a link may be limited to; each opening starts one recipient's session. */
const USES_OPTIONS = [
  '<option value="" selected>Any number of times</option>',
  ...[1, 2, 5, 10].map((uses) => `<option value="${uses}">${uses === 1 ? 'Once' : `${uses} times`}</option>`),
].join('');

const STYLES = [
  'main{max-width:60rem}',
  'h2{margin:2rem 0 .75rem;font-size:1.15rem}',
  'form#search{display:flex;flex-wrap:wrap;align-items:end;gap:.75rem;margin:1rem 0}',
  'label{display:block;font-size:.85rem;font-weight:600;margin-bottom:.25rem}',
  'input,select{font:inherit;padding:.45rem .6rem;border:1px solid var(--line);border-radius:.4rem;background:var(--card);color:var(--text)}',
  '#new-link{width:100%;max-width:40rem}',
  'table{width:100%;border-collapse:collapse;margin:.5rem 0}',
  'th,td{text-align:left;padding:.45rem .5rem;border-bottom:1px solid var(--line);vertical-align:middle}',
  'td button{margin-right:.5rem;padding:.3rem .7rem}',
  '#created{margin:1rem 0;padding:1rem;border:1px solid var(--accent);border-radius:.5rem}',
  '#created button{margin-top:.5rem}',
  '#status{min-height:1.5rem;font-weight:600}',
].join('');

/** `offerDropBox`: the user may upload, so may create drop-box links too. */
export function shareLinksDocument(userName: string, maxSeconds: number, offerDropBox = false): PageDocument {
  const options = lifetimeChoices(maxSeconds)
    .map(({ seconds, label, selected }) => `<option value="${seconds}"${selected ? ' selected' : ''}>${label}</option>`)
    .join('');
  return {
    title: 'Share links',
    styles: STYLES,
    script: SHARE_LINKS_SCRIPT,
    main:
      '<p class="brand">Image archive</p><h1>Share links</h1>' +
      '<p>A share link lets someone without an account view one study, read-only, until the link expires, has been opened as often as you allow, or you revoke it. ' +
      'Anyone holding the link can open the study: send it only to the person who needs it.</p>' +
      `<p>You are signed in as ${escapeHtml(userName)}.</p>` +
      '<form id="search"><div><label for="patient">Patient name</label><input id="patient" type="search" autocomplete="off" placeholder="All studies"></div>' +
      `<div><label for="expiry">Link valid for</label><select id="expiry">${options}</select></div>` +
      `<div><label for="uses">Opens at most</label><select id="uses">${USES_OPTIONS}</select></div>` +
      '<button type="submit">Find studies</button></form>' +
      (offerDropBox
        ? '<p>A drop-box link lets an outside clinic send studies into the archive, with the validity and uses chosen above. Its holder can see nothing, not even what they sent.</p>' +
          '<p><button id="drop-box" type="button">Create drop-box link</button></p>'
        : '') +
      '<table id="studies" hidden><thead><tr><th scope="col">Patient</th><th scope="col">Study date</th><th scope="col">Description</th><th scope="col"><span hidden>Action</span></th></tr></thead><tbody></tbody></table>' +
      '<div id="created" hidden><label for="new-link">New link</label><input id="new-link" readonly><br><button id="copy" type="button">Copy link</button></div>' +
      '<p id="status" role="status" aria-live="polite"></p>' +
      '<h2>Your links</h2><p id="none" hidden>You have no share links that are still valid.</p>' +
      '<table id="links" hidden><thead><tr><th scope="col">Study</th><th scope="col">Expires</th><th scope="col">Uses left</th><th scope="col"><span hidden>Actions</span></th></tr></thead><tbody></tbody></table>' +
      '<div class="actions"><a class="button" href="/">Back to the viewer</a><form method="post" action="/auth/logout"><button type="submit">Sign out</button></form></div>',
  };
}

/**
 * GET /share-links: the page where users with a share role create, copy, list and revoke their
 * study share links. The page only calls the share REST API (/auth/share) and QIDO-RS, which check
 * every request again; this route only decides who gets the page.
 */
export function shareLinksPage({ sessions, share, policy }: ShareLinksPageOptions): Router {
  const router = Router({ caseSensitive: true, strict: true });
  router.get('/share-links', async (req, res) => {
    const principal = await sessions.principal(req).catch(() => {
      throw new GatewayError('service_unavailable', 'The session store is unavailable; try again shortly');
    });
    if (!principal) return refuseUnauthenticated(req, res);
    if (!mayShare(principal, share.roles)) {
      const error = new GatewayError('forbidden', `Sharing requires one of the roles: ${share.roles.join(', ')}`);
      return refuseForbidden(req, res, principal, error, PAGES.shareForbidden);
    }
    const offerDropBox = viewerAbilities(principal, policy, share.roles).upload;
    sendDocument(res, 200, shareLinksDocument(principal.name ?? principal.username, share.maxSeconds, offerDropBox));
  });
  return router;
}
