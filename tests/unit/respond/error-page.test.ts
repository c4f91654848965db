import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { idpErrorPage } from '../../../src/auth/idp-errors.js';
import { GATEWAY_PAGE_CSP, renderGatewayPage } from '../../../src/respond/error-page.js';
import { PAGES, type GatewayPage } from '../../../src/respond/gateway-pages.js';

const REQUEST_ID = '7d3c4f0e-9a51-4c1e-8f53-2b6a1f0c9d11';
const render = (page: GatewayPage, signedInAs?: string) => renderGatewayPage(page, { requestId: REQUEST_ID, signedInAs });

/** What a person can do next on a page, by the visible text of its links, buttons and hints. */
const NEXT_STEP_TEXT = /Sign in again|Back to the viewer|Back to Orthanc Explorer|Try again|Sign out|Ask the person who shared this link/;

const everyPage: Array<[string, GatewayPage]> = [
  ...Object.entries(PAGES),
  ...['access_denied', 'temporarily_unavailable', 'invalid_scope', 'unknown_code'].map((code): [string, GatewayPage] => [`idp error ${code}`, idpErrorPage(code)]),
];

describe('the gateway pages', () => {
  it.each(everyPage)('%s: a title, its text, a next step, the request id', (_name, page) => {
    const html = render(page);
    expect(html.startsWith('<!doctype html><html lang="en">')).toBe(true);
    expect(html).toContain(`<h1>${page.title}</h1>`);
    expect(html).toContain(`<title>${page.title} · Image archive</title>`);
    expect(html).toContain(`<p>${page.message}</p>`);
    expect(html).toMatch(NEXT_STEP_TEXT);
    expect(page.steps.length).toBeGreaterThan(0);
    expect(html).toContain(`Request ${REQUEST_ID}`);
    expect(html).not.toMatch(/<script|\son[a-z]+=|style="|https?:\/\//i); // no script, no inline style attribute, nothing external
  });

  it.each<[keyof typeof PAGES, string, string]>([
    ['signedOut', 'Sign in again', 'href="/auth/login"'],
    ['signInExpired', 'Sign in again', 'href="/auth/login"'],
    ['signInFailed', 'Sign in again', 'href="/auth/login"'],
    ['studyNotFound', 'Back to the viewer', 'href="/"'],
    ['archiveForbidden', 'Back to the viewer', 'href="/"'],
    ['adminForbidden', 'Back to the viewer', 'href="/"'],
    ['shareForbidden', 'Back to the viewer', 'href="/"'],
    ['blockedEndpoint', 'Back to Orthanc Explorer', 'href="/pacs-admin/app/explorer.html"'],
    ['temporarilyUnavailable', 'Try again', 'href=""'],
    ['rateLimited', 'Try again', 'href=""'],
    ['identityProviderUnavailable', 'Try again', 'href=""'],
  ])('%s: the main action is "%s"', (name, text, href) => {
    expect(render(PAGES[name])).toContain(`<a class="button primary" ${href}>${text}</a>`);
  });

  it('a share link that no longer works tells the recipient whom to ask, and offers no sign-in', () => {
    const html = render(PAGES.shareLinkInvalid);
    expect(html).toContain('Ask the person who shared this link for a new one.');
    expect(html).not.toContain('/auth/login');
  });

  it.each(['noPacsRole', 'archiveForbidden', 'adminForbidden', 'blockedEndpoint', 'shareForbidden', 'studyNotFound'] as const)('%s offers the sign-out form (a same-origin POST)', (name) => {
    expect(render(PAGES[name], 'viewer')).toContain('<form method="post" action="/auth/logout"><button type="submit"');
  });

  it('shows the signed-in user, escaped', () => {
    const html = render(PAGES.noPacsRole, '<img src=x onerror=alert(1)>&"\'');
    expect(html).toContain('You are signed in as &lt;img src=x onerror=alert(1)&gt;&amp;&quot;&#39;.');
    expect(html).not.toContain('<img');
  });

  it('says the same thing whatever went wrong in detail: the page is a function of the page alone', () => {
    const a = renderGatewayPage(PAGES.rateLimited, { requestId: 'a' });
    const b = renderGatewayPage(PAGES.rateLimited, { requestId: 'b' });
    expect(a.replace('Request a', '')).toBe(b.replace('Request b', ''));
  });

  it('an IdP error code or description never reaches the page', () => {
    const crafted = '<b>Your account is locked, call +1 555 0100</b>';
    const html = render(idpErrorPage(crafted));
    expect(html).not.toContain('555');
    expect(html).not.toContain('<b>');
  });

  it('the stylesheet is inline and allowed by its hash; no inline style or script is allowed otherwise', () => {
    const html = render(PAGES.signInExpired);
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1] ?? '';
    expect(style.length).toBeGreaterThan(100);
    const hash = `'sha256-${createHash('sha256').update(style, 'utf8').digest('base64')}'`;
    expect(GATEWAY_PAGE_CSP).toContain(`style-src ${hash};`);
    expect(GATEWAY_PAGE_CSP).toContain("default-src 'none'");
    expect(GATEWAY_PAGE_CSP).not.toMatch(/unsafe-inline|script-src|https?:/);
    expect(style).not.toMatch(/@import|url\(|@font-face/); // nothing fetched: no fonts, no images
  });
});
