import { createHash } from 'node:crypto';
import type { Response } from 'express';
import type { GatewayPage, NextStep } from './gateway-pages.js';
import { requestState } from './locals.js';

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char] ?? char);

/** The one look of every gateway page: system fonts, nothing loaded, readable in light and dark mode. */
const STYLESHEET = [
  ':root{color-scheme:light dark;--bg:#f3f5f8;--card:#fff;--text:#1b2430;--muted:#4d5a6a;--accent:#0b5cad;--accent-text:#fff;--line:#d5dbe3}',
  '@media (prefers-color-scheme:dark){:root{--bg:#0f1620;--card:#18222e;--text:#e8edf3;--muted:#a9b6c5;--accent:#5aa9f0;--accent-text:#0b1420;--line:#2c3a4a}}',
  '*{box-sizing:border-box}',
  'body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;padding:1.5rem;background:var(--bg);color:var(--text);',
  'font:1rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}',
  'main{width:100%;max-width:32rem;background:var(--card);border:1px solid var(--line);border-radius:.75rem;padding:2rem;box-shadow:0 .25rem 1.5rem rgb(0 0 0/.08)}',
  '.brand{margin:0 0 1rem;font-size:.85rem;font-weight:600;letter-spacing:.06em;text-transform:uppercase;color:var(--muted)}',
  'h1{margin:0 0 .75rem;font-size:1.5rem;line-height:1.25}',
  'p{margin:0 0 1rem}',
  '.actions{display:flex;flex-wrap:wrap;gap:.75rem;margin:1.5rem 0 1rem}',
  '.actions form{margin:0}',
  '.button,button{display:inline-block;padding:.55rem 1.1rem;border-radius:.4rem;border:1px solid var(--accent);font:inherit;font-weight:600;text-decoration:none;cursor:pointer;background:transparent;color:var(--accent)}',
  '.primary{background:var(--accent);color:var(--accent-text)}',
  '.button:hover,button:hover{text-decoration:underline}',
  'a:focus-visible,button:focus-visible{outline:3px solid var(--accent);outline-offset:2px}',
  '.hint{font-weight:600}',
  '.request{margin:1.5rem 0 0;font-size:.8rem;color:var(--muted)}',
].join('');

/** Allowed by hash: the pages run no script and carry no other style. */
const STYLE_HASH = `'sha256-${createHash('sha256').update(STYLESHEET, 'utf8').digest('base64')}'`;

/**
 * The pages load nothing and run no script. (No form-action: the sign-out form's POST redirects on
 * to the IdP's end-session page, which form-action 'self' would block.)
 */
export const GATEWAY_PAGE_CSP = `default-src 'none'; style-src ${STYLE_HASH}; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'`;

const SIGN_OUT_FORM = '<form method="post" action="/auth/logout"><button type="submit"%CLASS%>Sign out</button></form>';

function renderStep(step: NextStep, primary: boolean): string {
  const cls = primary ? 'button primary' : 'button';
  switch (step) {
    case 'sign-in-again':
      return `<a class="${cls}" href="/auth/login">Sign in again</a>`;
    case 'back-to-viewer':
      return `<a class="${cls}" href="/">Back to the viewer</a>`;
    case 'back-to-explorer':
      return `<a class="${cls}" href="/pacs-admin/app/explorer.html">Back to Orthanc Explorer</a>`;
    case 'try-again':
      // An empty href is the page's own address: nothing of the URL is written into the page.
      return `<a class="${cls}" href="">Try again</a>`;
    case 'sign-out':
      return SIGN_OUT_FORM.replace('%CLASS%', primary ? ' class="primary"' : '');
    case 'ask-sharer':
      return '<p class="hint">Ask the person who shared this link for a new one.</p>';
  }
}

export interface PageContext {
  requestId: string;
  /** The signed-in user's name, from their verified token (never from the request). */
  signedInAs?: string | undefined;
}

/** The HTML of a gateway page: fixed texts, the user's name and request id escaped. */
export function renderGatewayPage(page: GatewayPage, { requestId, signedInAs }: PageContext): string {
  const who = signedInAs === undefined ? '' : `<p>You are signed in as ${escapeHtml(signedInAs)}.</p>`;
  const steps = page.steps.map((step, index) => renderStep(step, index === 0)).join('');
  return (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    `<title>${escapeHtml(page.title)} · Image archive</title><style>${STYLESHEET}</style></head>` +
    `<body><main><p class="brand">Image archive</p><h1>${escapeHtml(page.title)}</h1><p>${escapeHtml(page.message)}</p>${who}` +
    `<div class="actions">${steps}</div>` +
    `<p class="request">Request ${escapeHtml(requestId)}</p></main></body></html>`
  );
}

/** Answers with a gateway page, never cached. `status` overrides the page's own (e.g. 502 vs 504). */
export function sendErrorPage(res: Response, page: GatewayPage, { signedInAs, status }: { signedInAs?: string; status?: number } = {}): void {
  res
    .status(status ?? page.status)
    .set({ 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': GATEWAY_PAGE_CSP })
    .send(renderGatewayPage(page, { requestId: String(requestState(res).requestId ?? ''), signedInAs }));
}
