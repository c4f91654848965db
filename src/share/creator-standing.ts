import type { InvalidationTag } from '../auth/session-cache.js';
import type { SharedState } from '../auth/shared-state.js';
import type { ShareLinks } from './share-links.js';

const standingKey = (sub: string) => `share-standing:${sub}`;
const CONFIRMED = 'confirmed';
const SUSPENDED = 'suspended';

/** How the gateway learnt of a sharer's roles: a sign-in, a token refresh, or a call to /auth/share. */
export type StandingSource = 'sign-in' | 'refresh' | 'share-call';

/**
 * Whether the creator of share links may still share, as last stated by the IdP. A link is honoured
 * only while its creator is confirmed: a token with a share role seen within `confirmSeconds` (one
 * key per creator, expiring). A token without any share role revokes their links for good; a
 * back-channel logout or a failed token refresh suspends them until the creator signs in again.
 * Only a sign-in lifts a suspension: a refresh or Bearer token older than the logout must not.
 * A creator still allowed to share but no longer to upload loses their drop boxes (upload-only links).
 */
export function createCreatorStanding(options: {
  state: SharedState;
  shareLinks: ShareLinks;
  shareRoles: string[];
  /** Whether a user with these roles may upload (STOW-RS), by the policy: a drop box needs its creator to. */
  mayUpload: (roles: string[]) => boolean;
  confirmSeconds: number;
  /** Drops cached recipient sessions of a suspended creator's links (session-invalidation.ts). */
  invalidate?: (tag: InvalidationTag) => Promise<void>;
}) {
  const { state, shareLinks, shareRoles } = options;
  const ttlMs = options.confirmSeconds * 1000;
  const mayShare = (roles: string[]) => shareRoles.some((role) => roles.includes(role));

  const suspend = async (sub: string) => {
    await state.set(standingKey(sub), SUSPENDED, ttlMs);
    await options.invalidate?.(`creator:${sub}`);
  };

  return {
    suspend,

    /** Records what a fresh token of `sub` says; returns how many links were revoked (role lost). */
    async observe({ sub, roles }: { sub: string; roles: string[] }, source: StandingSource): Promise<number> {
      // A Bearer token of another client may carry other roles: only the gateway's own sign-ins and refreshes revoke.
      const mayRevoke = source !== 'share-call';
      if (mayShare(roles)) {
        if (source === 'sign-in') await state.set(standingKey(sub), CONFIRMED, ttlMs);
        else await state.setUnlessEquals(standingKey(sub), CONFIRMED, SUSPENDED, ttlMs);
        return mayRevoke && !options.mayUpload(roles) ? shareLinks.revokeDropBoxesOf(sub) : 0;
      }
      return mayRevoke ? shareLinks.revokeAllOf(sub) : 0;
    },

    async isConfirmed(sub: string): Promise<boolean> {
      return (await state.get(standingKey(sub))) === CONFIRMED;
    },
  };
}

export type CreatorStanding = ReturnType<typeof createCreatorStanding>;
