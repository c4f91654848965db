import { describe, expect, it } from '@jest/globals';
import type { SessionData } from 'express-session';
import { EndedSessionMemoryStore } from '../../../src/auth/ended-session-store.js';
import type { LogoutTarget } from '../../../src/auth/logout-token.js';
import { memorySharedState } from '../../../src/auth/shared-state.js';
import { createSessionIndex } from '../../../src/auth/session-index.js';

const sessionOf = (sub: string) => ({ cookie: { originalMaxAge: 60_000 }, user: { principal: { sub } } }) as unknown as SessionData;

/** How a session known to the index stands when the logout arrives. */
type Fate = 'live' | 'signed-out' | 'ended' | 'expired';

async function indexWith(sessions: Array<[id: string, sid: string, sub: string, fate?: Fate]>) {
  const store = new EndedSessionMemoryStore(3600);
  const index = createSessionIndex(memorySharedState(), store, 3600);
  for (const [id, sid, sub, fate = 'live'] of sessions) {
    if (fate !== 'expired') store.set(id, sessionOf(sub));
    await index.add(id, { sid, sub });
    if (fate === 'signed-out') await store.endBySignOut(id);
    if (fate === 'ended') store.destroy(id);
  }
  return { store, index };
}

const target = (sid: string | undefined, sub: string | undefined): LogoutTarget => ({ sid, sub });

describe('session index', () => {
  it.each<[string, Array<[string, string, string, Fate?]>, LogoutTarget, string[]]>([
    ['a sid-only logout: the users of its live sessions, once each', [['s1', 'idp-1', 'alice'], ['s2', 'idp-1', 'alice'], ['s3', 'idp-2', 'bob']], target('idp-1', undefined), ['alice']],
    ['a sid-only logout of an unknown IdP session', [['s1', 'idp-1', 'alice']], target('idp-3', undefined), []],
    ['the echo of the user’s own sign-out (sid and sub)', [['s1', 'idp-1', 'alice', 'signed-out']], target('idp-1', 'alice'), []],
    ['the echo of a sign-out (sid only)', [['s1', 'idp-1', 'alice', 'signed-out']], target('idp-1', undefined), []],
    ['a sign-out of one session while the logout also ends a live one (sid and sub)', [['s1', 'idp-1', 'alice', 'signed-out'], ['s2', 'idp-2', 'alice']], target('idp-1', 'alice'), ['alice']],
    ['a sub-only logout ending a live session besides the signed-out one', [['s1', 'idp-1', 'alice', 'signed-out'], ['s2', 'idp-2', 'alice']], target(undefined, 'alice'), ['alice']],
    ['a sub-only logout after a sign-out, other sessions long expired', [['s1', 'idp-1', 'alice', 'expired'], ['s2', 'idp-2', 'alice', 'signed-out']], target(undefined, 'alice'), []],
    ['a logout of an IdP session whose gateway session expired (not signed out)', [['s1', 'idp-1', 'alice', 'expired']], target('idp-1', 'alice'), ['alice']],
    ['a logout of an IdP session ended otherwise before', [['s1', 'idp-1', 'alice', 'ended']], target('idp-1', 'alice'), ['alice']],
    ['a logout of an unknown IdP session, though the user signed out of another', [['s1', 'idp-1', 'alice', 'signed-out']], target('idp-2', 'alice'), ['alice']],
    ['a sub the gateway has no session of', [], target(undefined, 'alice'), ['alice']],
  ])('pauses the share links of: %s', async (_case, sessions, logout, expected) => {
    const { index } = await indexWith(sessions);
    expect(await index.subsToPause(logout)).toEqual(expected);
  });

  it('ends every session of the target and forgets them', async () => {
    const { index, store } = await indexWith([['s1', 'idp-1', 'alice'], ['s2', 'idp-2', 'alice'], ['s3', 'idp-3', 'bob']]);
    expect(await index.destroyAll({ sid: undefined, sub: 'alice' })).toBe(2);
    expect(await store.status('s1')).toBe('gone');
    expect(await store.status('s2')).toBe('gone');
    expect(await store.status('s3')).toBe('live');
    expect(await index.subsToPause({ sid: 'idp-1', sub: undefined })).toEqual([]);
  });
});
