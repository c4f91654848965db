import { randomBytes } from 'node:crypto';
import type { InvalidationTag } from '../auth/session-cache.js';
import type { SharedState } from '../auth/shared-state.js';

/**
 * A time-limited link, optionally good for a number of openings only: read-only to one study, or a
 * drop box (upload only, no study).
 */
export interface ShareLink {
  id: string;
  /** The study a read-only link opens; absent for a drop box. */
  studyInstanceUid?: string;
  /** A drop box: its holder may send studies (STOW-RS) and read nothing. */
  dropBox?: true;
  /** `sub` and username of the user who created it. */
  createdBy: string;
  createdByName: string;
  createdAt: number;
  expiresAt: number;
  /** How many times the link may be opened (each opening starts a share session); none: unlimited. */
  maxUses?: number;
}

const linkKey = (id: string) => `share:${id}`;
const ownerKey = (sub: string) => `share-owner:${sub}`;
const usesKey = (id: string) => `share-uses:${id}`;
const ID_PATTERN = /^[A-Za-z0-9_-]{32}$/;

/**
 * Share links in the shared state (Redis): random unguessable ids (192 bits), expiring with the
 * link, listed per owner, revocable at once (every use looks the link up again). A link's openings
 * are counted under their own key, expiring with the link.
 */
export function createShareLinks(state: SharedState, maxSeconds: number, invalidate: (tag: InvalidationTag) => Promise<void> = async () => {}) {
  async function get(id: string): Promise<ShareLink | undefined> {
    if (!ID_PATTERN.test(id)) return undefined;
    const raw = await state.get(linkKey(id));
    if (!raw) return undefined;
    const link = JSON.parse(raw) as ShareLink;
    return link.expiresAt > Date.now() ? link : undefined;
  }

  const links = {
    get,

    /** A read-only link to `target.studyInstanceUid`, or a drop box. */
    async create(owner: { sub: string; username: string }, target: { studyInstanceUid: string } | { dropBox: true }, lifetimeSeconds: number, maxUses?: number): Promise<ShareLink> {
      const now = Date.now();
      const link: ShareLink = {
        id: randomBytes(24).toString('base64url'),
        ...target,
        createdBy: owner.sub,
        createdByName: owner.username,
        createdAt: now,
        expiresAt: now + lifetimeSeconds * 1000,
        ...(maxUses === undefined ? {} : { maxUses }),
      };
      await state.set(linkKey(link.id), JSON.stringify(link), lifetimeSeconds * 1000);
      await state.addToSet(ownerKey(owner.sub), link.id, maxSeconds * 1000);
      return link;
    },

    async listOwnedBy(sub: string): Promise<ShareLink[]> {
      const ids = await state.setMembers(ownerKey(sub));
      const links = await Promise.all(ids.map(get));
      const live = links.filter((link): link is ShareLink => link !== undefined);
      const gone = ids.filter((id) => !live.some((link) => link.id === id));
      await Promise.all(gone.map((id) => state.removeFromSet(ownerKey(sub), id)));
      return live.sort((a, b) => a.createdAt - b.createdAt);
    },

    /**
     * Counts one opening of the link; false when it has been opened `maxUses` times already. One
     * atomic step in Redis, so replicas racing for the last use cannot both win.
     */
    async claimUse(link: ShareLink): Promise<boolean> {
      if (link.maxUses === undefined) return true;
      const ttlMs = Math.max(link.expiresAt - Date.now(), 1);
      return (await state.incrementBelow(usesKey(link.id), link.maxUses, ttlMs)) !== null;
    },

    /** How many more times the link may be opened; undefined when unlimited. */
    async usesLeft(link: ShareLink): Promise<number | undefined> {
      if (link.maxUses === undefined) return undefined;
      return Math.max(link.maxUses - Number((await state.get(usesKey(link.id))) ?? '0'), 0);
    },

    async revoke(link: ShareLink): Promise<void> {
      await state.delete(linkKey(link.id));
      await state.delete(usesKey(link.id));
      await invalidate(`link:${link.id}`); // recipients' cached sessions, on every replica
      await state.removeFromSet(ownerKey(link.createdBy), link.id);
    },

    /** Revokes the drop boxes `sub` created (their read-only links stay); returns how many there were. */
    async revokeDropBoxesOf(sub: string): Promise<number> {
      const dropBoxes = (await links.listOwnedBy(sub)).filter((link) => link.dropBox);
      await Promise.all(dropBoxes.map(links.revoke));
      return dropBoxes.length;
    },

    /** Revokes every link `sub` created; returns how many there were. */
    async revokeAllOf(sub: string): Promise<number> {
      const ids = await state.setMembers(ownerKey(sub));
      if (ids.length === 0) return 0;
      await Promise.all(ids.flatMap((id) => [state.delete(linkKey(id)), state.delete(usesKey(id))]));
      await invalidate(`creator:${sub}`);
      await state.delete(ownerKey(sub));
      return ids.length;
    },
  };
  return links;
}

export type ShareLinks = ReturnType<typeof createShareLinks>;
