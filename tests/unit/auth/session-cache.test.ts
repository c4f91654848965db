import { describe, expect, it } from '@jest/globals';
import type { Principal } from '../../../src/auth/principal.js';
import { SessionCache, sessionIdOfCookie, singleCookieValue } from '../../../src/auth/session-cache.js';

const NOW = 1_700_000_000_000;
const principal = (sub: string): Principal => ({ sub, username: sub, name: undefined, email: undefined, roles: ['pacs-viewer'], via: 'session', expiresAt: NOW / 1000 + 300 });
const ID_A = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
const ID_B = 'BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB';
const cookieOf = (id: string, signature = 'sig%2Bnature') => `s%3A${id}.${signature}`;

function filled(maxAgeMs = 5000) {
  const cache = new SessionCache(maxAgeMs);
  expect(cache.fill(cookieOf(ID_A), ID_A, { principal: principal('alice'), validUntilMs: NOW + 60_000 }, cache.epoch, NOW)).toBe(true);
  return cache;
}

describe('singleCookieValue', () => {
  it.each([
    ['gw-session=v1', 'v1'],
    ['a=1; gw-session=v1; b=2', 'v1'],
    ['a=1;gw-session=v1 ', 'v1'],
    ['x-gw-session=v1', undefined],
    ['a=1', undefined],
    ['', undefined],
    [undefined, undefined],
    // Sent twice: ambiguous, express-session alone decides.
    ['gw-session=v1; gw-session=v2', undefined],
    ['gw-session=v1; gw-session=v1', undefined],
  ])('%j → %j', (header, expected) => {
    expect(singleCookieValue(header, 'gw-session')).toBe(expected);
  });
});

describe('sessionIdOfCookie', () => {
  it.each([
    [`s%3A${ID_A}.sig`, ID_A],
    [`s:${ID_A}.sig`, ID_A],
    [`${ID_A}.sig`, undefined],
    [`s%3A${ID_A}`, undefined],
    ['s%3A.sig', undefined],
  ])('%s → %s', (cookie, expected) => {
    expect(sessionIdOfCookie(cookie)).toBe(expected);
  });
});

describe('SessionCache', () => {
  it('answers the exact cookie value it was filled from, and nothing else', () => {
    const cache = filled();
    expect(cache.get(cookieOf(ID_A), NOW + 1000)).toMatchObject({ sub: 'alice' });
    expect(cache.get(cookieOf(ID_A, 'forged'), NOW + 1000)).toBeUndefined();
    expect(cache.get(cookieOf(ID_A, 'sig%2Bnaturf'), NOW + 1000)).toBeUndefined();
    expect(cache.get(cookieOf(ID_B), NOW + 1000)).toBeUndefined();
    expect(cache.get('garbage', NOW + 1000)).toBeUndefined();
  });

  it('hands out a frozen principal: no request can change what the next one sees', () => {
    const cache = filled();
    const principal = cache.get(cookieOf(ID_A), NOW)!;
    expect(() => principal.roles.push('pacs-admin')).toThrow(TypeError);
    expect(() => Object.assign(principal, { sub: 'mallory' })).toThrow(TypeError);
    expect(cache.get(cookieOf(ID_A), NOW)).toMatchObject({ sub: 'alice', roles: ['pacs-viewer'] });
  });

  it('keeps an entry at most its maximum age: the staleness bound', () => {
    const cache = filled(5000);
    expect(cache.get(cookieOf(ID_A), NOW + 4999)).toBeDefined();
    expect(cache.get(cookieOf(ID_A), NOW + 5000)).toBeUndefined();
  });

  it('never keeps an entry past its own end (token refresh due, lifetime, link expiry)', () => {
    const cache = new SessionCache(5000);
    cache.fill(cookieOf(ID_A), ID_A, { principal: principal('alice'), validUntilMs: NOW + 2000 }, cache.epoch, NOW);
    expect(cache.get(cookieOf(ID_A), NOW + 1999)).toBeDefined();
    expect(cache.get(cookieOf(ID_A), NOW + 2000)).toBeUndefined();
    expect(cache.fill(cookieOf(ID_B), ID_B, { principal: principal('bob'), validUntilMs: NOW }, cache.epoch, NOW)).toBe(false);
  });

  it('refuses a fill whose cookie names another session than the one express-session loaded', () => {
    const cache = new SessionCache(5000);
    expect(cache.fill(cookieOf(ID_A), ID_B, { principal: principal('bob'), validUntilMs: NOW + 60_000 }, cache.epoch, NOW)).toBe(false);
    expect(cache.get(cookieOf(ID_A), NOW)).toBeUndefined();
  });

  it('drops a fill that began before an invalidation (a session read just before its logout)', () => {
    const cache = new SessionCache(5000);
    const epoch = cache.epoch;
    cache.invalidate(`session:${ID_A}`);
    expect(cache.fill(cookieOf(ID_A), ID_A, { principal: principal('alice'), validUntilMs: NOW + 60_000 }, epoch, NOW)).toBe(false);
    expect(cache.get(cookieOf(ID_A), NOW)).toBeUndefined();
  });

  it('invalidates by session, by share link and by creator', () => {
    const cache = filled();
    const share = { ...principal('share:L1'), via: 'share' as const };
    cache.fill(cookieOf(ID_B), ID_B, { principal: share, validUntilMs: NOW + 60_000, tags: ['link:L1', 'creator:carol'] }, cache.epoch, NOW);

    cache.invalidate('link:L2');
    cache.invalidate('creator:dave');
    cache.invalidate('session:CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC');
    expect(cache.size).toBe(2);

    cache.invalidate('creator:carol');
    expect(cache.get(cookieOf(ID_B), NOW)).toBeUndefined();
    expect(cache.get(cookieOf(ID_A), NOW)).toBeDefined();

    cache.invalidate(`session:${ID_A}`);
    expect(cache.get(cookieOf(ID_A), NOW)).toBeUndefined();
  });

  it('forgets everything on clear (invalidations may have been missed)', () => {
    const cache = filled();
    const epoch = cache.epoch;
    cache.clear();
    expect(cache.get(cookieOf(ID_A), NOW)).toBeUndefined();
    expect(cache.epoch).not.toBe(epoch);
  });

  it('is bounded: the least recently used session goes first', () => {
    const cache = new SessionCache(5000, 2);
    const fill = (id: string) => cache.fill(cookieOf(id), id, { principal: principal(id), validUntilMs: NOW + 60_000 }, cache.epoch, NOW);
    fill(ID_A);
    fill(ID_B);
    cache.get(cookieOf(ID_A), NOW);
    fill('CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC');
    expect(cache.get(cookieOf(ID_A), NOW)).toBeDefined();
    expect(cache.get(cookieOf(ID_B), NOW)).toBeUndefined();
  });
});
