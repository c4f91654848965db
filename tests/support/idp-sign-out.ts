import type { Browser } from './http-browser.js';

/**
 * Ends the user's IdP session at the dev IdP itself (not through the gateway), confirming its
 * sign-out form: the IdP then sends a back-channel logout token to the gateway's PUBLIC_URL.
 */
export async function signOutAtIdp(browser: Browser, issuer: string): Promise<void> {
  const confirm = await browser.navigate(`${issuer}/protocol/openid-connect/logout`, {}, []);
  if (confirm.kind !== 'page') throw new Error('expected the IdP sign-out confirmation page');
  const form = /<form[^>]*action="([^"]+)"[^>]*>\s*<input type="hidden" name="xsrf" value="([^"]+)"/.exec(confirm.html);
  if (!form) throw new Error(`no sign-out form: ${confirm.html.slice(0, 200)}`);
  await browser.navigate(new URL(form[1]!, confirm.url).href, { method: 'POST', body: new URLSearchParams({ xsrf: form[2]!, logout: 'yes' }) }, []);
}
