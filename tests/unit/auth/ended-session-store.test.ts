import { describe, expect, it } from '@jest/globals';
import type { SessionData } from 'express-session';
import { EndedSessionMemoryStore } from '../../../src/auth/ended-session-store.js';

/** The in-process store of a gateway without Redis follows the same rule as the Redis one (tests/integration/session-touch.test.ts). */
const data = { cookie: { originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000) }, user: { principal: { sub: 'alice' } } } as unknown as SessionData;
const get = (store: EndedSessionMemoryStore, sid: string) =>
  new Promise<SessionData | null | undefined>((resolve) => store.get(sid, (_error, session) => resolve(session)));

describe('EndedSessionMemoryStore', () => {
  it('keeps a destroyed session ended: a later save or touch does not bring it back', async () => {
    const store = new EndedSessionMemoryStore(3600);
    store.set('s1', data);
    expect(await get(store, 's1')).toMatchObject({ user: { principal: { sub: 'alice' } } });
    store.destroy('s1');
    store.set('s1', data);
    store.touch('s1', data);
    expect(await get(store, 's1')).toBeFalsy();
    expect(await store.saveUnlessEnded('s1', data)).toBe(false);
  });

  it('tells a sign-out apart from other endings, and refuses saves after either', async () => {
    const store = new EndedSessionMemoryStore(3600);
    store.set('s3', data);
    store.set('s4', data);
    expect(await store.status('s3')).toBe('live');
    await store.endBySignOut('s3');
    store.destroy('s4');
    expect(await store.status('s3')).toBe('signed-out');
    expect(await store.status('s4')).toBe('gone');
    expect(await store.status('never')).toBe('gone');
    expect(await store.saveUnlessEnded('s3', data)).toBe(false);
    expect(await get(store, 's3')).toBeFalsy();
    store.destroy('s3'); // express-session's own destroy after the sign-out, or a later logout
    expect(await store.status('s3')).toBe('signed-out');
  });

  it('saves live sessions, and forgets an ended id after the marker’s lifetime', async () => {
    const store = new EndedSessionMemoryStore(0.05);
    expect(await store.saveUnlessEnded('s2', data)).toBe(true);
    store.destroy('s2');
    expect(await store.saveUnlessEnded('s2', data)).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(await store.saveUnlessEnded('s2', data)).toBe(true);
    expect(await get(store, 's2')).toBeTruthy();
  });
});
