import { describe, expect, it } from '@jest/globals';
import { VerifiedTokenCache } from '../../../src/auth/verified-token-cache.js';

const inSeconds = (seconds: number) => Math.floor(Date.now() / 1000) + seconds;

describe('VerifiedTokenCache', () => {
  it('returns the claims of a cached token until it expires', () => {
    const cache = new VerifiedTokenCache();
    const claims = { sub: 'a', exp: inSeconds(60) };
    cache.set('token-a', claims);
    expect(cache.get('token-a')).toBe(claims);
    expect(cache.get('token-a', (claims.exp + 1) * 1000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('knows nothing of other tokens, even one differing by a character', () => {
    const cache = new VerifiedTokenCache();
    cache.set('token-a', { sub: 'a', exp: inSeconds(60) });
    expect(cache.get('token-b')).toBeUndefined();
    expect(cache.get('token-a ')).toBeUndefined();
  });

  it('keeps an entry at most a minute, so tokens of a removed signing key stop working soon', () => {
    const cache = new VerifiedTokenCache(10, 60_000);
    const now = Date.now();
    cache.set('long-lived', { exp: inSeconds(10 * 365 * 86_400) }, now);
    expect(cache.get('long-lived', now + 59_000)).toBeDefined();
    expect(cache.get('long-lived', now + 61_000)).toBeUndefined();
  });

  it('does not cache tokens without exp', () => {
    const cache = new VerifiedTokenCache();
    cache.set('token', { sub: 'a' });
    expect(cache.size).toBe(0);
  });

  it('evicts the least recently used entry when full', () => {
    const cache = new VerifiedTokenCache(2);
    cache.set('one', { exp: inSeconds(60) });
    cache.set('two', { exp: inSeconds(60) });
    cache.get('one');
    cache.set('three', { exp: inSeconds(60) });
    expect(cache.get('two')).toBeUndefined();
    expect(cache.get('one')).toBeDefined();
    expect(cache.get('three')).toBeDefined();
    expect(cache.size).toBe(2);
  });
});
