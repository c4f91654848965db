import { Browser } from './http-browser.js';
import { rawRequest, type RawResponse } from './raw-http.js';
import { signIn } from './session-stack.js';

const json = { accept: 'application/json' };

/** A share link as POST /auth/share describes it. */
export interface CreatedLink {
  id: string;
  url: string;
  expiresAt: string;
}

/** Link creation and opening against one gateway replica (`publicUrl`: the PUBLIC_URL links are made for). */
export function shareLinkClient(publicUrl: string, gatewayUrl = publicUrl) {
  return {
    /** Signs in through the dev IdP's form (session stacks). */
    async signedIn(username: string): Promise<Browser> {
      const browser = new Browser();
      const step = await signIn(browser, gatewayUrl, username);
      if (step.kind !== 'page' || step.status !== 200) throw new Error(`sign-in as ${username} failed`);
      return browser;
    },

    createShare(browser: Browser, body: unknown): Promise<Response> {
      return browser.request(`${gatewayUrl}/auth/share`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: gatewayUrl, ...json },
        body: JSON.stringify(body),
      });
    },

    /** Creates a link to the study; fails unless it is created. */
    async created(browser: Browser, studyInstanceUID: string): Promise<CreatedLink> {
      const response = await this.createShare(browser, { studyInstanceUID });
      if (response.status !== 201) throw new Error(`link creation answered ${response.status}`);
      return (await response.json()) as CreatedLink;
    },

    /** GET /share/{id} on this replica, in `browser` (a new one by default). */
    open(link: Pick<CreatedLink, 'url'>, browser = new Browser()): Promise<Response> {
      return browser.request(link.url.replace(publicUrl, gatewayUrl));
    },

    /**
     * GET /share/{id} as a browser's page load, without cookies, at PUBLIC_URL (a page load on another
     * host is redirected there); rawRequest: fetch() would send Sec-Fetch-Mode "cors".
     */
    navigate(link: Pick<CreatedLink, 'url'>): Promise<RawResponse> {
      return rawRequest(publicUrl, new URL(link.url).pathname, { headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' } });
    },
  };
}
