import { describe, expect, it } from '@jest/globals';
import { memorySharedState } from '../../../src/auth/shared-state.js';
import { createCreatorStanding, type StandingSource } from '../../../src/share/creator-standing.js';
import { createShareLinks } from '../../../src/share/share-links.js';

/** What the gateway learns about the creator, in order: a token with or without a share role, or a suspension (back-channel logout, failed refresh). */
type Event = `${StandingSource}:${'share' | 'share-only' | 'none'}` | 'suspend';

/** pacs-uploader may share and upload; pacs-sharer may share but not upload (no drop boxes). */
const ROLES = { share: ['pacs-uploader'], 'share-only': ['pacs-sharer'], none: ['pacs-viewer'] };

const ALICE = { sub: 'alice', username: 'alice' };

async function after(events: Event[], confirmSeconds = 60) {
  const state = memorySharedState();
  const shareLinks = createShareLinks(state, 3600);
  const standing = createCreatorStanding({ state, shareLinks, shareRoles: ['pacs-uploader', 'pacs-sharer'], mayUpload: (roles) => roles.includes('pacs-uploader'), confirmSeconds });
  await shareLinks.create(ALICE, { studyInstanceUid: '1.2.3' }, 3600);
  await shareLinks.create(ALICE, { dropBox: true }, 3600);
  for (const event of events) {
    if (event === 'suspend') await standing.suspend(ALICE.sub);
    else {
      const [source, roles] = event.split(':') as [StandingSource, keyof typeof ROLES];
      await standing.observe({ sub: ALICE.sub, roles: ROLES[roles] }, source);
    }
  }
  return { standing, shareLinks };
}

describe('a link creator’s standing', () => {
  const BOTH = ['read-only', 'drop box'];
  it.each<[string, Event[], boolean, string[]]>([
    ['never confirmed', [], false, BOTH],
    ['signed in with a share role', ['sign-in:share'], true, BOTH],
    ['a refresh with a share role', ['refresh:share'], true, BOTH],
    ['a Bearer call to /auth/share with a share role', ['share-call:share'], true, BOTH],
    ['signed out by the IdP after signing in', ['sign-in:share', 'suspend'], false, BOTH],
    ['a refresh after the sign-out (begun before it) does not lift it', ['sign-in:share', 'suspend', 'refresh:share'], false, BOTH],
    ['a Bearer token after the sign-out does not lift it', ['sign-in:share', 'suspend', 'share-call:share'], false, BOTH],
    ['a new sign-in lifts it', ['sign-in:share', 'suspend', 'sign-in:share'], true, BOTH],
    ['a refresh without the share role revokes the links', ['sign-in:share', 'refresh:none'], true, []],
    ['a sign-in without the share role revokes the links', ['sign-in:share', 'sign-in:none'], true, []],
    ['a Bearer token without it (maybe another client’s roles) revokes nothing', ['sign-in:share', 'share-call:none'], true, BOTH],
    ['a refresh that may share but no longer upload revokes the drop box only', ['sign-in:share', 'refresh:share-only'], true, ['read-only']],
    ['a sign-in that may share but not upload revokes the drop box only', ['sign-in:share-only'], true, ['read-only']],
    ['a Bearer token that may share but not upload revokes nothing', ['sign-in:share', 'share-call:share-only'], true, BOTH],
  ])('%s → confirmed %s, links left: %j', async (_name, events, confirmed, kinds) => {
    const { standing, shareLinks } = await after(events);
    expect(await standing.isConfirmed(ALICE.sub)).toBe(confirmed);
    const left = await shareLinks.listOwnedBy(ALICE.sub);
    expect(left.map((link) => (link.dropBox ? 'drop box' : 'read-only'))).toEqual(kinds);
  });

  it('lapses SHARE_CONFIRM_SECONDS after the last confirmation', async () => {
    const { standing } = await after(['sign-in:share'], 0.05);
    expect(await standing.isConfirmed(ALICE.sub)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(await standing.isConfirmed(ALICE.sub)).toBe(false);
  });
});
