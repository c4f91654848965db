import { createHash } from 'node:crypto';
import type { Response } from 'express';

/** A CSP hash source of an inline `<style>` or `<script>` exactly as the page carries it. */
const hashSource = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

export const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char] ?? char);

/** The one look of every gateway page: system fonts, nothing loaded, readable in light and dark mode. */
export const BASE_STYLESHEET = [
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
  'a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible{outline:3px solid var(--accent);outline-offset:2px}',
  '.hint{font-weight:600}',
  '.request{margin:1.5rem 0 0;font-size:.8rem;color:var(--muted)}',
].join('');

export interface PageDocument {
  title: string;
  /** The inside of `<main>`: already escaped HTML. */
  main: string;
  /** More rules after the base stylesheet. */
  styles?: string;
  /** One inline script, allowed by its hash. */
  script?: string;
}

/** The HTML of a gateway page and its Content-Security-Policy: nothing loads, only the page's own style and script run. */
export function renderDocument({ title, main, styles = '', script }: PageDocument): { html: string; csp: string } {
  const stylesheet = BASE_STYLESHEET + styles;
  const html =
    '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    `<title>${escapeHtml(title)} · Image archive</title><style>${stylesheet}</style></head>` +
    `<body><main>${main}</main>${script ? `<script>${script}</script>` : ''}</body></html>`;
  // No form-action: the sign-out form's POST redirects on to the IdP's end-session page, which form-action 'self' would block.
  const csp = [
    "default-src 'none'",
    ...(script ? [`script-src ${hashSource(script)}`] : []),
    `style-src ${hashSource(stylesheet)}`,
    "connect-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
  return { html, csp };
}

/** Answers with a gateway page, never cached. */
export function sendDocument(res: Response, status: number, document: PageDocument): void {
  const { html, csp } = renderDocument(document);
  res.status(status).set({ 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': csp }).send(html);
}
