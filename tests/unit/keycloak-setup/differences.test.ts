import { describe, expect, it } from '@jest/globals';
import { clientDifferences, mapperDifferences, mergedClient, mergedMapper } from '../../../src/keycloak-setup/differences.js';

describe('clientDifferences', () => {
  const wanted = { publicClient: false, redirectUris: ['https://a/cb'], attributes: { 'pkce.code.challenge.method': 'S256' } };

  it.each([
    ['nothing when the client matches (other fields and attributes ignored)', { publicClient: false, name: 'x', redirectUris: ['https://a/cb'], attributes: { 'pkce.code.challenge.method': 'S256', other: '1' } }, []],
    ['a changed flag', { publicClient: true, redirectUris: ['https://a/cb'], attributes: { 'pkce.code.challenge.method': 'S256' } }, ['publicClient']],
    ['an extra redirect URI', { publicClient: false, redirectUris: ['https://a/cb', 'https://a/*'], attributes: { 'pkce.code.challenge.method': 'S256' } }, ['redirectUris']],
    ['a missing attribute', { publicClient: false, redirectUris: ['https://a/cb'] }, ['attributes.pkce.code.challenge.method']],
  ])('%s', (_name, actual, expected) => {
    expect(clientDifferences(actual, wanted)).toEqual(expected);
  });

  it('compares URI lists as sets', () => {
    expect(clientDifferences({ redirectUris: ['b', 'a'] }, { redirectUris: ['a', 'b'] })).toEqual([]);
  });
});

describe('mergedClient / mergedMapper', () => {
  it("keeps the site's own fields and attributes", () => {
    expect(mergedClient({ id: '1', name: 'site', attributes: { theme: 'x', 'pkce.code.challenge.method': 'plain' } }, { attributes: { 'pkce.code.challenge.method': 'S256' } }))
      .toEqual({ id: '1', name: 'site', attributes: { theme: 'x', 'pkce.code.challenge.method': 'S256' } });
  });

  it("keeps the mapper's id and other config", () => {
    const merged = mergedMapper({ id: 'm1', name: 'groups', config: { a: '1', b: '2' } }, { name: 'groups', config: { b: '3' } });
    expect(merged).toEqual({ id: 'm1', name: 'groups', config: { a: '1', b: '3' } });
  });
});

describe('mapperDifferences', () => {
  it.each([
    ['same', { protocolMapper: 'm', config: { a: 'true', extra: 'x' } }, []],
    ['another type', { protocolMapper: 'n', config: { a: 'true' } }, ['protocolMapper']],
    ['a config value', { protocolMapper: 'm', config: { a: 'false' } }, ['config.a']],
  ])('%s', (_name, actual, expected) => {
    expect(mapperDifferences(actual, { protocolMapper: 'm', config: { a: 'true' } })).toEqual(expected);
  });
});
