import express, { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import { BEARER_REALM } from '../auth/bearer.js';
import type { BrowserSessions } from '../auth/browser-sessions.js';
import type { Principal } from '../auth/principal.js';
import type { Config } from '../config/config.js';
import { GatewayError } from '../errors.js';
import type { CreatorStanding } from '../share/creator-standing.js';
import type { ShareLink, ShareLinks } from '../share/share-links.js';
import { isBrowserNavigation } from '../respond/browser-request.js';
import { sendErrorPage } from '../respond/error-page.js';
import { PAGES, type GatewayPage } from '../respond/gateway-pages.js';
import { requestState } from '../respond/request-state.js';
import type { OrthancClient } from '../orthanc/orthanc-client.js';
import { studyNotYours } from '../respond/refusal.js';
import type { StudyLookup } from '../authorize/study-lookup.js';
import { isStudyRestricted } from '../policy/evaluate.js';
import { isStudyAllowed } from '../policy/study-access.js';
import { viewerAbilities } from '../policy/viewer-abilities.js';
import type { PolicyOptions } from '../policy/evaluate.js';

export interface ShareRoutesOptions {
  config: Config;
  shareLinks: ShareLinks;
  creatorStanding: CreatorStanding;
  sessions: BrowserSessions;
  orthancClient: OrthancClient;
  /** Set when per-study access is on: a restricted user may share only studies they may see. */
  studyLookup: StudyLookup | undefined;
  /** Sets the principal (Bearer or session). */
  authenticate: RequestHandler;
  /** The authorization policy: only those who may upload create drop boxes. */
  policy: PolicyOptions;
}

const DEFAULT_LIFETIME_SECONDS = 86_400;
/** The most openings a link may be limited to (a larger number is as good as unlimited). */
export const MAX_USES_LIMIT = 1000;

/** Why a link does not open: its gateway page for a browser's page load, its JSON error for an API caller. */
const LINK_REFUSALS = {
  invalid: { page: PAGES.shareLinkInvalid, error: () => new GatewayError('not_found', 'This share link is unknown, expired or revoked') },
  paused: { page: PAGES.shareLinkPaused, error: () => new GatewayError('forbidden', 'This share link works again once its creator has signed in again') },
  usedUp: { page: PAGES.shareLinkUsedUp, error: () => new GatewayError('gone', 'This share link has been opened as many times as its creator allowed', {}, 'used-up') },
} satisfies Record<string, { page: GatewayPage; error: () => GatewayError }>;

function refuseLink(req: express.Request, res: express.Response, why: keyof typeof LINK_REFUSALS): void {
  const error = LINK_REFUSALS[why].error();
  if (!isBrowserNavigation(req)) throw error;
  requestState(res).error = error; // metrics and the audit trail count it like the JSON answer
  sendErrorPage(res, LINK_REFUSALS[why].page);
}

/** Where a drop-box link lands: the upload page (drop-box-page.ts). */
export const DROP_BOX_PAGE = '/share/upload';

function viewerUrl(studyInstanceUid: string): string {
  return `/viewer?StudyInstanceUIDs=${encodeURIComponent(studyInstanceUid)}`;
}

/**
 * Study share links: users with a share role create time-limited read-only links to one study
 * (POST /auth/share), optionally good for `maxUses` openings, list and revoke theirs; anyone holding a
 * link (GET /share/{id}) gets a session scoped to that study and lands in the viewer on it. Users who
 * may upload also create drop-box links, whose holder lands on the upload page and may only send studies.
 */
export function shareRoutes({ config, shareLinks, creatorStanding, sessions, orthancClient, studyLookup, authenticate, policy }: ShareRoutesOptions): Router {
  const router = Router({ caseSensitive: true, strict: true });
  const requestBody = z
    .object({
      studyInstanceUID: z.string().max(64).regex(/^[0-9]+(\.[0-9]+)*$/, 'must be a DICOM UID').optional(),
      dropBox: z.literal(true).optional(),
      expiresInSeconds: z.number().int().min(60).max(config.share.maxSeconds).default(Math.min(DEFAULT_LIFETIME_SECONDS, config.share.maxSeconds)),
      maxUses: z.number().int().min(1).max(MAX_USES_LIMIT).optional(),
    })
    .refine((body) => (body.studyInstanceUID === undefined) === (body.dropBox === true), {
      message: 'give either a studyInstanceUID (a read-only link) or "dropBox": true (an upload-only link)',
      path: ['studyInstanceUID'],
    });

  const describe = async (link: ShareLink) => ({
    id: link.id,
    url: `${config.publicUrl}/share/${link.id}`,
    ...(link.dropBox ? { dropBox: true } : { studyInstanceUID: link.studyInstanceUid }),
    createdAt: new Date(link.createdAt).toISOString(),
    expiresAt: new Date(link.expiresAt).toISOString(),
    ...(link.maxUses === undefined ? {} : { maxUses: link.maxUses, usesLeft: await shareLinks.usesLeft(link) }),
  });

  /** The signed-in user (not a share recipient) who holds a share role; their standing as a link creator is confirmed. */
  const sharer: RequestHandler = async (_req, res, next) => {
    const principal = requestState(res).principal;
    if (!principal) throw new GatewayError('unauthenticated', 'Sign in to share studies', { 'www-authenticate': `Bearer realm="${BEARER_REALM}"` });
    if (principal.studyScope !== undefined || !config.share.roles.some((role) => principal.roles.includes(role))) {
      throw new GatewayError('forbidden', `Sharing requires one of the roles: ${config.share.roles.join(', ')}`);
    }
    // No SMART scope names share links; a patient-context app could otherwise share any patient's study.
    if (principal.smart) throw new GatewayError('forbidden', 'Sharing is not open to SMART apps');
    await creatorStanding.observe(principal, 'share-call');
    next();
  };
  const owner = (res: express.Response): Principal => requestState(res).principal!;

  async function studyExists(studyInstanceUid: string): Promise<boolean> {
    const answer = await orthancClient.get(`/dicom-web/studies?StudyInstanceUID=${encodeURIComponent(studyInstanceUid)}`);
    if (answer.status !== 200) throw new GatewayError('bad_gateway', `Orthanc answered HTTP ${answer.status} when looking up the study`);
    return (JSON.parse(answer.body || '[]') as unknown[]).length > 0;
  }

  async function maySee(principal: Principal, studyInstanceUid: string): Promise<boolean> {
    if (!config.studyAccess || !studyLookup || !isStudyRestricted(principal, config.studyAccess)) return true;
    const values = await studyLookup.byStudyUid(studyInstanceUid);
    return values !== null && isStudyAllowed(values, principal.studyAccess ?? [], config.studyAccess.attribute);
  }

  router.post('/auth/share', express.json({ limit: '4kb' }), authenticate, sharer, async (req, res) => {
    const parsed = requestBody.safeParse(req.body ?? {});
    if (!parsed.success) {
      throw new GatewayError('bad_request', parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '));
    }
    const { studyInstanceUID, expiresInSeconds, maxUses } = parsed.data;
    if (studyInstanceUID === undefined) {
      // A drop box uploads on its creator's behalf: only for those the policy lets upload themselves.
      if (!viewerAbilities(owner(res), policy, config.share.roles).upload) throw new GatewayError('forbidden', 'Drop-box links are for users who may upload');
      const link = await shareLinks.create(owner(res), { dropBox: true }, expiresInSeconds, maxUses);
      return void res.status(201).set('cache-control', 'no-store').json(await describe(link));
    }
    // A restricted sharer learns nothing about studies not theirs: unknown and not yours answer alike.
    if (!(await maySee(owner(res), studyInstanceUID))) throw studyNotYours();
    if (!(await studyExists(studyInstanceUID))) throw new GatewayError('not_found', 'No such study');
    const link = await shareLinks.create(owner(res), { studyInstanceUid: studyInstanceUID }, expiresInSeconds, maxUses);
    res.status(201).set('cache-control', 'no-store').json(await describe(link));
  });

  router.get('/auth/share', authenticate, sharer, async (_req, res) => {
    res.set('cache-control', 'no-store').json(await Promise.all((await shareLinks.listOwnedBy(owner(res).sub)).map(describe)));
  });

  router.delete('/auth/share/:id', authenticate, sharer, async (req, res) => {
    const link = await shareLinks.get(String(req.params['id']));
    const caller = owner(res);
    if (!link || (link.createdBy !== caller.sub && !caller.roles.includes(config.roles.admin))) {
      throw new GatewayError('not_found', 'No such share link of yours');
    }
    await shareLinks.revoke(link);
    res.status(204).end();
  });

  router.get('/share/:id', async (req, res) => {
    const link = await shareLinks.get(String(req.params['id']));
    if (!link) return refuseLink(req, res, 'invalid');
    if (!(await creatorStanding.isConfirmed(link.createdBy))) return refuseLink(req, res, 'paused');
    // A signed-in user keeps their own session and rights, and a recipient reopening the link keeps their
    // share session: neither is a use. Anyone else gets the link's session (this study only, or send-only
    // for a drop box), if a use is left.
    if (!req.session.user && req.session.share?.id !== link.id) {
      if (!(await shareLinks.claimUse(link))) return refuseLink(req, res, 'usedUp');
      await sessions.openShare(req, link);
    }
    res.set('cache-control', 'no-store').redirect(302, link.studyInstanceUid ? viewerUrl(link.studyInstanceUid) : DROP_BOX_PAGE);
  });

  return router;
}
