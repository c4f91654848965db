import { describe, expect, it } from '@jest/globals';
import { memorySharedState } from '../../src/auth/shared-state.js';
import { createCreatorStanding, type StandingSource } from '../../src/share/creator-standing.js';
import { createShareLinks } from '../../src/share/share-links.js';

/** What the gateway learns about the creator, in order: a token with or without a share role, or a suspension (back-channel logout, failed refresh). */
type Event = `${StandingSource}:${'share' | 'none'}` | 'suspend';

const ALICE = { sub: 'alice', username: 'alice' };

async function after(events: Event[], confirmSeconds = 60) {
  const state = memorySharedState();
  const shareLinks = createShareLinks(state, 3600);
  const standing = createCreatorStanding({ state, shareLinks, shareRoles: ['pacs-uploader'], confirmSeconds });
  await shareLinks.create(ALICE, { studyInstanceUid: '1.2.3' }, 3600);
  for (const event of events) {
    if (event === 'suspend') await standing.suspend(ALICE.sub);
    else {
      const [source, roles] = event.split(':') as [StandingSource, string];
      await standing.observe({ sub: ALICE.sub, roles: roles === 'share' ? ['pacs-uploader'] : ['pacs-viewer'] }, source);
    }
  }
  return { standing, shareLinks };
}

describe('a link creator’s standing', () => {
  it.each<[string, Event[], boolean, number]>([
    ['never confirmed', [], false, 1],
    ['signed in with a share role', ['sign-in:share'], true, 1],
    ['a refresh with a share role', ['refresh:share'], true, 1],
    ['a Bearer call to /auth/share with a share role', ['share-call:share'], true, 1],
    ['signed out by the IdP after signing in', ['sign-in:share', 'suspend'], false, 1],
    ['a refresh after the sign-out (begun before it) does not lift it', ['sign-in:share', 'suspend', 'refresh:share'], false, 1],
    ['a Bearer token after the sign-out does not lift it', ['sign-in:share', 'suspend', 'share-call:share'], false, 1],
    ['a new sign-in lifts it', ['sign-in:share', 'suspend', 'sign-in:share'], true, 1],
    ['a refresh without the share role revokes the links', ['sign-in:share', 'refresh:none'], true, 0],
    ['a sign-in without the share role revokes the links', ['sign-in:share', 'sign-in:none'], true, 0],
    ['a Bearer token without it (maybe another client’s roles) revokes nothing', ['sign-in:share', 'share-call:none'], true, 1],
  ])('%s → confirmed %s, %i link(s) left', async (_name, events, confirmed, links) => {
    const { standing, shareLinks } = await after(events);
    expect(await standing.isConfirmed(ALICE.sub)).toBe(confirmed);
    expect(await shareLinks.listOwnedBy(ALICE.sub)).toHaveLength(links);
  });

  it('lapses SHARE_CONFIRM_SECONDS after the last confirmation', async () => {
    const { standing } = await after(['sign-in:share'], 0.05);
    expect(await standing.isConfirmed(ALICE.sub)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(await standing.isConfirmed(ALICE.sub)).toBe(false);
  });
});
