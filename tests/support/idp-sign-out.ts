import type { Browser, Step } from './http-browser.js';

/**
 * Submits the dev IdP's sign-out confirmation page (oidc-provider's form; browsers submit it by
 * script when the RP sent id_token_hint) and follows where it sends the browser.
 */
export async function confirmDevIdpSignOut(browser: Browser, confirm: Extract<Step, { kind: 'page' }>, leaveAt: string[] = []): Promise<Step> {
  const form = /<form[^>]*action="([^"]+)"[^>]*>\s*<input type="hidden" name="xsrf" value="([^"]+)"/.exec(confirm.html);
  if (!form) throw new Error(`no sign-out form: ${confirm.html.slice(0, 200)}`);
  return browser.navigate(new URL(form[1]!, confirm.url).href, { method: 'POST', body: new URLSearchParams({ xsrf: form[2]!, logout: 'yes' }) }, leaveAt);
}

/**
 * Ends the user's IdP session at the dev IdP itself (not through the gateway), confirming its
 * sign-out form: the IdP then sends a back-channel logout token to the gateway's PUBLIC_URL.
 */
export async function signOutAtIdp(browser: Browser, issuer: string): Promise<void> {
  const confirm = await browser.navigate(`${issuer}/protocol/openid-connect/logout`, {}, []);
  if (confirm.kind !== 'page') throw new Error('expected the IdP sign-out confirmation page');
  await confirmDevIdpSignOut(browser, confirm);
}

/**
 * The user's own sign-out through the gateway (POST /auth/logout), completed at the dev IdP: the IdP
 * then sends the back-channel logout of that session to the gateway's PUBLIC_URL.
 */
export async function signOutThroughGateway(browser: Browser, gatewayUrl: string): Promise<void> {
  const logout = await browser.request(`${gatewayUrl}/auth/logout`, { method: 'POST', headers: { origin: gatewayUrl } });
  if (logout.status !== 302) throw new Error(`POST /auth/logout answered ${logout.status}`);
  const confirm = await browser.navigate(logout.headers.get('location')!, {}, []);
  if (confirm.kind !== 'page') throw new Error('expected the IdP sign-out confirmation page');
  await confirmDevIdpSignOut(browser, confirm, [`${gatewayUrl}/`]);
}
