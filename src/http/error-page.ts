import type { Response } from 'express';

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char] ?? char);

/** A small page for people (sign-in problems): everything escaped, nothing cached. */
export function sendErrorPage(res: Response, status: number, title: string, message: string, { signOut = false } = {}): void {
  const actions = signOut
    ? '<form method="post" action="/auth/logout"><button type="submit">Sign out</button></form>'
    : '<p><a href="/">Back to the start page</a></p>';
  res
    .status(status)
    .set({
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      // The gateway's own pages load nothing and run no script. (No form-action: the sign-out form's
      // POST redirects on to the IdP's end-session page, which form-action 'self' would block.)
      'content-security-policy': "default-src 'none'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'",
    })
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>` +
        `<body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>${actions}` +
        `<p><small>Request ${escapeHtml(String(res.locals['requestId'] ?? ''))}</small></p></body></html>`,
    );
}
