import { describe, expect, it } from '@jest/globals';
import { resolvePlaceholders } from '../../src/devidp/placeholders.js';

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
});
