import { describe, expect, it } from '@jest/globals';
import { gatewayRealmVariables, resolvePlaceholders } from '../../../src/devidp/placeholders.js';
import { findClient, loadRealm } from '../../../src/devidp/realm.js';

describe("Keycloak realm-import placeholders (src/devidp/placeholders.ts)", () => {
  it('takes the variable when set, else the default after the first colon (URLs keep theirs)', () => {
    const realm = { a: '${URL:http://localhost:8080/x}', b: ['${URL:http://localhost:8080/x}'], n: 3, t: true, z: null };
    expect(resolvePlaceholders(realm)).toEqual({ a: 'http://localhost:8080/x', b: ['http://localhost:8080/x'], n: 3, t: true, z: null });
    expect(resolvePlaceholders(realm, { URL: 'http://gateway:8080/x' })).toMatchObject({ a: 'http://gateway:8080/x' });
  });

  it('replaces placeholders inside longer strings and leaves other dollar signs alone', () => {
    expect(resolvePlaceholders('pre-${X:1}-post $Y ${ not-one }', { X: 'mid' })).toBe('pre-mid-post $Y ${ not-one }');
  });

  it('names a placeholder that has neither a value nor a default', () => {
    expect(() => resolvePlaceholders({ secret: '${GATEWAY_SECRET}' })).toThrow(/GATEWAY_SECRET/);
  });

  it('gives the realm export the URLs of a gateway at an origin, and refuses a PUBLIC_URL with a path', () => {
    expect(gatewayRealmVariables('http://127.0.0.1:4000/')).toEqual({
      GATEWAY_PUBLIC_URL: 'http://127.0.0.1:4000',
      GATEWAY_BACKCHANNEL_LOGOUT_URL: 'http://127.0.0.1:4000/auth/backchannel-logout',
    });
    expect(() => gatewayRealmVariables('https://pacs.example.org/gw')).toThrow(/GATEWAY_PUBLIC_URL must be an origin/);
  });
});

describe('the dev IdP reads the realm export with the variables Keycloak reads (src/devidp/realm.ts)', () => {
  it.each([
    ['the defaults', {}, 'http://localhost:8080'],
    ['GATEWAY_PUBLIC_URL', gatewayRealmVariables('http://127.0.0.1:4000'), 'http://127.0.0.1:4000'],
  ])('with %s', (_name, env, origin) => {
    const realm = loadRealm(undefined, env);
    const gateway = findClient(realm, 'orthanc-gateway')!;
    const ohif = findClient(realm, 'ohif-viewer')!;
    expect(gateway.redirectUris).toEqual([`${origin}/auth/callback`]);
    expect(gateway.postLogoutRedirectUris).toEqual([`${origin}/auth/signed-out`]);
    expect(gateway.backchannelLogoutUri).toBe(`${origin}/auth/backchannel-logout`);
    expect(ohif.redirectUris).toEqual([`${origin}/callback`, `${origin}/silent-refresh.html`]);
    expect(ohif.webOrigins).toEqual([origin]);
    expect(ohif.postLogoutRedirectUris).toEqual([`${origin}/`]);
  });
});
