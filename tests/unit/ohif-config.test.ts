import { readFileSync } from 'node:fs';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from '@jest/globals';

/** Evaluates an OHIF app-config.js as the browser would (a classic script setting window.config). */
function evaluate(file: string, replace: Record<string, string> = {}): Record<string, any> {
  let source = readFileSync(new URL(`../../ohif/${file}`, import.meta.url), 'utf8');
  for (const [placeholder, value] of Object.entries(replace)) source = source.replaceAll(placeholder, value);
  const window: { location: { origin: string }; config?: Record<string, any> } = { location: { origin: 'http://gw.example' } };
  runInNewContext(source, { window }, { filename: file });
  return window.config ?? {};
}

const expectedDataSource = {
  namespace: '@ohif/extension-default.dataSourcesModule.dicomweb',
  configuration: expect.objectContaining({
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
    dicomUploadEnabled: true,
    omitQuotationForMultipartRequest: true,
  }),
};

describe('ohif/app-config.js (session mode)', () => {
  const config = evaluate('app-config.js');

  it('has one DICOMweb data source on the gateway origin, and it is the default', () => {
    expect(config['dataSources']).toHaveLength(1);
    expect(config['dataSources'][0]).toMatchObject(expectedDataSource);
    expect(config['defaultDataSourceName']).toBe(config['dataSources'][0].sourceName);
  });

  it('lets the session cookie authenticate: no oidc block', () => {
    expect(config).not.toHaveProperty('oidc');
  });

  it("puts a Sign out form button (POST /auth/logout) in OHIF's header logo slot", () => {
    const createElement = (type: string, props: Record<string, any>, ...children: unknown[]) => ({ type, props, children });
    const form = config['whiteLabeling'].createLogoComponentFn({ createElement });
    expect(form).toMatchObject({ type: 'form', props: { method: 'post', action: '/auth/logout' } });
    expect(form.children).toEqual([expect.objectContaining({ type: 'button', props: expect.objectContaining({ type: 'submit' }), children: ['Sign out'] })]);
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
      },
    ]);
  });

  it('uses the same DICOMweb data source on the gateway origin', () => {
    expect(config).toMatchObject({ routerBasename: '/', dataSources: [expectedDataSource] });
    expect(config['defaultDataSourceName']).toBe(config['dataSources'][0].sourceName);
  });

  it('refuses to start with the placeholder left in', () => {
    expect(() => evaluate('app-config.bearer.js')).toThrow(/__OIDC_AUTHORITY__/);
  });
});
