import { readFileSync } from 'node:fs';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from '@jest/globals';
import { viewerUserScript, type ViewerUser } from '../../src/pages/viewer-user.js';

/** Evaluates an OHIF app-config.js as the browser would (a classic script setting window.config). */
function evaluate(file: string, replace: Record<string, string> = {}, preamble = '', browser: Record<string, unknown> = {}): Record<string, any> {
  let source = readFileSync(new URL(`../../ohif/${file}`, import.meta.url), 'utf8');
  for (const [placeholder, value] of Object.entries(replace)) source = source.replaceAll(placeholder, value);
  const window: Record<string, any> = { location: { origin: 'http://gw.example' }, history: {}, ...browser };
  runInNewContext(preamble + source, { window, XMLHttpRequest: browser['XMLHttpRequest'], URL }, { filename: file });
  return window['config'] ?? {};
}

/** A React stand-in: createElement returns the element tree as plain objects. */
interface Element {
  type: unknown;
  props: Record<string, any>;
  children: unknown[];
}
const Fragment = Symbol('Fragment');
const React = { Fragment, createElement: (type: unknown, props: Record<string, any>, ...children: unknown[]): Element => ({ type, props: props ?? {}, children }) };
/** Every element of a tree (children given as arguments or as one array). */
function elements(node: unknown): Element[] {
  if (Array.isArray(node)) return node.flatMap(elements);
  if (!node || typeof node !== 'object' || !('type' in node)) return [];
  const element = node as Element;
  return [element, ...element.children.flatMap(elements)];
}
const textOf = (element: Element) => element.children.filter((child) => typeof child === 'string').join('');

const commonConfiguration = {
  qidoRoot: 'http://gw.example/pacs/dicom-web',
  wadoRoot: 'http://gw.example/pacs/dicom-web',
  wadoUriRoot: 'http://gw.example/pacs/wado',
  qidoSupportsIncludeField: false,
  imageRendering: 'wadors',
  thumbnailRendering: 'wadors',
  enableStudyLazyLoad: true,
  supportsFuzzyMatching: false,
  supportsWildcard: true,
  staticWado: false,
  singlepart: 'bulkdata,video',
  bulkDataURI: { enabled: true },
  omitQuotationForMultipartRequest: true,
};
const dataSourceWithUpload = (dicomUploadEnabled: boolean) => ({
  namespace: '@ohif/extension-default.dataSourcesModule.dicomweb',
  configuration: expect.objectContaining({ ...commonConfiguration, dicomUploadEnabled }),
});

const SHARE = ['Share links', '/share-links'];
const EXPLORER = ['Orthanc Explorer', '/pacs-admin/app/explorer.html'];

describe('ohif/app-config.js (session mode)', () => {
  const config = evaluate('app-config.js');
  const forUser = (user: ViewerUser | null) => evaluate('app-config.js', {}, viewerUserScript(user));

  it('has one DICOMweb data source on the gateway origin, and it is the default', () => {
    expect(config['dataSources']).toHaveLength(1);
    expect(config['dataSources'][0]).toMatchObject(dataSourceWithUpload(false));
    expect(config['defaultDataSourceName']).toBe(config['dataSources'][0].sourceName);
  });

  it('lets the session cookie authenticate: no oidc block', () => {
    expect(config).not.toHaveProperty('oidc');
  });

  it.each<[string, ViewerUser | null, { upload: boolean; name: string | undefined; links: string[][] }]>([
    ['no user (the file without the gateway preamble)', null, { upload: false, name: undefined, links: [] }],
    ['a viewer', { name: 'Vera Viewer', canUpload: false, isAdmin: false, canShare: false }, { upload: false, name: 'Vera Viewer', links: [] }],
    ['an uploader', { name: 'uploader', canUpload: true, isAdmin: false, canShare: true }, { upload: true, name: 'uploader', links: [SHARE] }],
    ['an admin', { name: 'Ada Admin', canUpload: true, isAdmin: true, canShare: true }, { upload: true, name: 'Ada Admin', links: [SHARE, EXPLORER] }],
    ['an admin restricted by per-study access', { name: 'a', canUpload: false, isAdmin: false, canShare: true }, { upload: false, name: 'a', links: [SHARE] }],
  ])('fits %s: Upload button, name, Share links and Orthanc Explorer links, Sign out', (_name, user, expected) => {
    const fitted = forUser(user);
    expect(fitted['dataSources'][0].configuration.dicomUploadEnabled).toBe(expected.upload);
    const header = elements(fitted['whiteLabeling'].createLogoComponentFn(React));
    const name = header.find((element) => element.props['data-cy'] === 'gateway-user');
    expect(name && textOf(name)).toBe(expected.name);
    const links = header.filter((element) => element.type === 'a');
    expect(links.map((link) => [textOf(link), link.props['href']])).toEqual(expected.links);
    const form = header.find((element) => element.type === 'form');
    expect(form?.props).toMatchObject({ method: 'post', action: '/auth/logout' });
    const button = header.find((element) => element.type === 'button');
    expect(button && [button.props['type'], textOf(button)]).toEqual(['submit', 'Sign out']);
  });

  it('shows a hostile name as text only (React escapes it; the preamble cannot end the script)', () => {
    const hostile = '</script><script>alert(1)</script>\u2028';
    const preamble = viewerUserScript({ name: hostile, canUpload: false, isAdmin: false, canShare: false });
    expect(preamble).not.toContain('</script>');
    const header = elements(forUser({ name: hostile, canUpload: false, isAdmin: false, canShare: false })['whiteLabeling'].createLogoComponentFn(React));
    expect(textOf(header.find((element) => element.props['data-cy'] === 'gateway-user')!)).toBe(hostile);
  });

  it('is served at / with the study list and without the investigational-use dialog', () => {
    expect(config).toMatchObject({ routerBasename: '/', showStudyList: true, investigationalUseDialog: { option: 'never' } });
  });
});

describe('ohif/app-config.bearer.js (Bearer mode)', () => {
  const authority = 'http://idp.example/realms/orthanc';
  const config = evaluate('app-config.bearer.js', { __OIDC_AUTHORITY__: authority });

  it("signs in with OHIF's own OIDC client against the substituted authority", () => {
    expect(config['oidc']).toEqual([
      {
        authority,
        client_id: 'ohif-viewer',
        redirect_uri: '/callback',
        response_type: 'code',
        scope: 'openid profile email',
        post_logout_redirect_uri: '/',
        revokeAccessTokenOnSignout: true,
      },
    ]);
  });

  /** What reaches the address bar when OHIF's router, on `page`, enters `url` with history[method]. */
  function entered(method: 'pushState' | 'replaceState', url: string | undefined, page = 'http://gw.example/viewer?StudyInstanceUIDs=1.2.3'): unknown {
    const addressBar: unknown[] = [];
    const history = { pushState: (_state: unknown, _unused: string, next?: string) => addressBar.push(next), replaceState: (_state: unknown, _unused: string, next?: string) => addressBar.push(next) };
    evaluate('app-config.bearer.js', { __OIDC_AUTHORITY__: authority }, '', { history, location: { origin: 'http://gw.example', href: page } });
    history[method]({}, '', url);
    return addressBar[0];
  }

  const START = 'http://gw.example/logout?redirect_uri=http%3A%2F%2Fgw.example%2F';
  it.each<[string, 'pushState' | 'replaceState', string | undefined, string | undefined]>([
    ["the menu's Logout on the viewer page", 'pushState', `/logout?redirect_uri=${encodeURIComponent('http://gw.example/viewer?StudyInstanceUIDs=1.2.3')}`, START],
    ['a sign-out replacing the entry', 'replaceState', `/logout?redirect_uri=${encodeURIComponent('http://gw.example/viewer')}`, START],
    ['a sign-out without a return address', 'pushState', '/logout', START],
    ['an absolute sign-out address', 'pushState', 'http://gw.example/logout?redirect_uri=http%3A%2F%2Fgw.example%2Flocal', START],
    ['any other route (unchanged)', 'pushState', '/viewer?StudyInstanceUIDs=1.2.3&redirect_uri=x', '/viewer?StudyInstanceUIDs=1.2.3&redirect_uri=x'],
    ['a path that only starts like it (unchanged)', 'pushState', '/logout-help?redirect_uri=x', '/logout-help?redirect_uri=x'],
    ['no URL (state only)', 'replaceState', undefined, undefined],
  ])('signs out back to the start (the address the IdP has registered): %s', (_name, method, url, expected) => {
    expect(entered(method, url)).toBe(expected);
  });

  it('uses the same DICOMweb data source on the gateway origin', () => {
    // Upload: off until OHIF starts the data source for a signed-in user (below).
    expect(config).toMatchObject({ routerBasename: '/', dataSources: [dataSourceWithUpload(false)] });
    expect(config['defaultDataSourceName']).toBe(config['dataSources'][0].sourceName);
  });

  it('refuses to start with the placeholder left in', () => {
    expect(() => evaluate('app-config.bearer.js')).toThrow(/__OIDC_AUTHORITY__/);
  });

  /** The data source's configuration once OHIF started it, with OHIF's stored user and /auth/me's answer. */
  function startedDataSource(stored: unknown, answer: { status: number; body: string }) {
    const requests: Array<{ method: string; url: string; async: boolean; headers: Record<string, string> }> = [];
    class FakeXhr {
      status = 0;
      responseText = '';
      private request = { method: '', url: '', async: true, headers: {} as Record<string, string> };
      open(method: string, url: string, async: boolean) {
        this.request = { method, url, async, headers: {} };
      }
      setRequestHeader(name: string, value: string) {
        this.request.headers[name] = value;
      }
      send() {
        requests.push(this.request);
        this.status = answer.status;
        this.responseText = answer.body;
      }
    }
    const sessionStorage = { getItem: (key: string) => (key === `oidc.user:${authority}:ohif-viewer` && stored !== undefined ? JSON.stringify(stored) : null) };
    const started = evaluate('app-config.bearer.js', { __OIDC_AUTHORITY__: authority }, '', { sessionStorage, XMLHttpRequest: FakeXhr });
    const { configuration } = started['dataSources'][0];
    return { configuration: configuration.onConfiguration(configuration, {}), requests };
  }

  it.each([
    ['the gateway says canUpload', { access_token: 'token-1' }, { status: 200, body: '{"canUpload":true}' }, true],
    ['the gateway says not', { access_token: 'token-1' }, { status: 200, body: '{"canUpload":false}' }, false],
    ['the token is refused', { access_token: 'token-1' }, { status: 401, body: '{"error":"invalid_token"}' }, false],
    ['the answer is not JSON', { access_token: 'token-1' }, { status: 200, body: '<html>' }, false],
  ])('offers Upload only when %s', (_name, stored, answer, expected) => {
    const { configuration, requests } = startedDataSource(stored, answer);
    expect(configuration.dicomUploadEnabled).toBe(expected);
    expect(requests).toEqual([{ method: 'GET', url: 'http://gw.example/auth/me', async: false, headers: { Authorization: 'Bearer token-1', Accept: 'application/json' } }]);
  });

  it('asks nothing and offers no Upload before sign-in', () => {
    const { configuration, requests } = startedDataSource(undefined, { status: 200, body: '{"canUpload":true}' });
    expect([configuration.dicomUploadEnabled, requests]).toEqual([false, []]);
  });
});
