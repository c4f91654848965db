/**
 * A very small browser for OIDC flows over real HTTP: a cookie jar, manual redirects, and the dev
 * IdP's (Keycloak-like) login form. Enough to sign in through the dev IdP without Chromium.
 */
const unescapeHtml = (s: string) => s.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n))).replace(/&amp;/g, '&');

export type Step = { kind: 'page'; url: string; status: number; html: string } | { kind: 'left'; url: URL };

export class Browser {
  /** name -> value and path (one host only; enough for the IdP's cookies). */
  private readonly jar = new Map<string, { value: string; path: string }>();

  /** The value of a cookie in the jar. */
  cookie(name: string): string | undefined {
    return this.jar.get(name)?.value;
  }

  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    const { pathname } = new URL(url);
    const cookies = [...this.jar].filter(([, c]) => pathname === c.path || pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`));
    if (cookies.length > 0) headers.set('cookie', cookies.map(([name, c]) => `${name}=${c.value}`).join('; '));
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';').map((part) => part.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      const attribute = (key: string) => attributes.find((a) => a.toLowerCase().startsWith(`${key}=`))?.slice(key.length + 1);
      const expires = attribute('expires');
      const expired = attribute('max-age') === '0' || (expires !== undefined && Date.parse(expires) < Date.now());
      if (!value || expired) this.jar.delete(name);
      else this.jar.set(name, { value, path: attribute('path') ?? '/' });
    }
    return response;
  }

  /** Follows redirects until one points under a prefix of `leaveAt` (returned, not fetched) or a page answers. */
  async navigate(url: string, init: RequestInit, leaveAt: string[]): Promise<Step> {
    let current = url;
    let options = init;
    for (let hops = 0; hops < 20; hops += 1) {
      const response = await this.request(current, options);
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || !location) {
        return { kind: 'page', url: current, status: response.status, html: await response.text() };
      }
      await response.body?.cancel();
      const next = new URL(location, current);
      if (leaveAt.some((prefix) => next.href.startsWith(prefix))) return { kind: 'left', url: next };
      current = next.href;
      options = {};
    }
    throw new Error('too many redirects');
  }

  /** Opens the authorization URL, submits the login form; returns where the IdP sends the browser. */
  async login(authorizationUrl: URL, username: string, password: string, leaveAt: string[]): Promise<Step> {
    const page = await this.navigate(authorizationUrl.href, {}, leaveAt);
    if (page.kind !== 'page') return page; // already signed in (SSO)
    const action = /<form[^>]*id="kc-form-login"[^>]*action="([^"]*)"|<form[^>]*action="([^"]*)"[^>]*id="kc-form-login"/.exec(page.html);
    const target = action?.[1] ?? action?.[2];
    if (!target) throw new Error(`no login form at ${page.url} (HTTP ${page.status}): ${page.html.slice(0, 300)}`);
    return this.navigate(
      new URL(unescapeHtml(target), page.url).href,
      { method: 'POST', body: new URLSearchParams({ username, password }) },
      leaveAt,
    );
  }
}

/** The URL a flow left to (a redirect back to the client); fails when a page answered instead. */
export function left(step: Step): URL {
  if (step.kind !== 'left') throw new Error(`expected a redirect back to the client, got HTTP ${step.status}: ${step.html.slice(0, 300)}`);
  return step.url;
}

