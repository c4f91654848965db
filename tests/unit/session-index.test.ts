import { describe, expect, it } from '@jest/globals';
import session, { type SessionData } from 'express-session';
import { memorySharedState } from '../../src/auth/shared-state.js';
import { createSessionIndex } from '../../src/auth/session-index.js';

const sessionOf = (sub: string) => ({ cookie: { originalMaxAge: 60_000 }, user: { principal: { sub } } }) as unknown as SessionData;

function indexWith(sessions: Array<[id: string, sid: string, sub: string]>) {
  const store = new session.MemoryStore();
  const index = createSessionIndex(memorySharedState(), store, 3600);
  return {
    store,
    index,
    ready: Promise.all(
      sessions.map(async ([id, sid, sub]) => {
        store.set(id, sessionOf(sub));
        await index.add(id, { sid, sub });
      }),
    ),
  };
}

describe('session index', () => {
  it('names the users of an IdP session (a logout token with only a sid), once each', async () => {
    const { index, ready } = indexWith([['s1', 'idp-1', 'alice'], ['s2', 'idp-1', 'alice'], ['s3', 'idp-2', 'bob']]);
    await ready;
    expect(await index.subsOf({ sid: 'idp-1', sub: undefined })).toEqual(['alice']);
    expect(await index.subsOf({ sid: 'idp-3', sub: undefined })).toEqual([]);
  });

  it('ends every session of the target and forgets them', async () => {
    const { index, store, ready } = indexWith([['s1', 'idp-1', 'alice'], ['s2', 'idp-2', 'alice'], ['s3', 'idp-3', 'bob']]);
    await ready;
    expect(await index.destroyAll({ sid: undefined, sub: 'alice' })).toBe(2);
    const left = await new Promise<string[]>((resolve) => store.all((_error, all) => resolve(Object.keys(all ?? {}))));
    expect(left).toEqual(['s3']);
    expect(await index.subsOf({ sid: 'idp-1', sub: undefined })).toEqual([]);
  });
});
