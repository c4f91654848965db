import type { Request } from 'express';
import type { Session, Store } from 'express-session';
import type { Config } from '../config/config.js';
import type { Logger } from '../observability/logger.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { BearerVerifier } from './bearer.js';
import { endBySignOut } from './ended-session-store.js';
import type { IssuerKeys } from './issuer-keys.js';
import { createLogoutTokenValidator, type LogoutTarget } from './logout-token.js';
import type { OidcClient, TokenSet } from './oidc.js';
import { principalFromClaims, type Principal } from './principal.js';
import { createRefresher, needsRefresh, RefreshFailed } from './refresh.js';
import { isPastAbsoluteLifetime, type SessionUser } from './session.js';
import { createSessionIndex } from './session-index.js';
import type { SharedState } from './shared-state.js';
import type { CreatorStanding } from '../share/creator-standing.js';
import type { ShareLink, ShareLinks } from '../share/share-links.js';

export interface BrowserSessionsDeps {
  config: Config;
  shareLinks: ShareLinks;
  creatorStanding: CreatorStanding;
  oidc: OidcClient;
  bearer: BearerVerifier;
  keys: IssuerKeys;
  store: Store;
  state: SharedState;
  logger: Logger;
  metrics: Pick<GatewayMetrics, 'tokenRefresh'>;
}

const promisify = (run: (callback: (error?: unknown) => void) => void) =>
  new Promise<void>((resolve, reject) => run((error) => (error ? reject(error) : resolve())));
const regenerate = (session: Session) => promisify((done) => session.regenerate(done));
const save = (session: Session) => promisify((done) => session.save(done));
const destroy = (session: Session) => promisify((done) => session.destroy(done));

/**
 * Browser sessions: sign-in stores the tokens server-side under a fresh session id, each request
 * reads the principal (refreshing the access token once when it nears expiry), sign-out and
 * back-channel logout end sessions everywhere.
 */
export function createBrowserSessions({ config, shareLinks, creatorStanding, oidc, bearer, keys, store, state, logger, metrics }: BrowserSessionsDeps) {
  const index = createSessionIndex(state, store, config.session.maxSeconds);
  const validateLogoutToken = createLogoutTokenValidator({ issuer: config.oidc.issuer, clientId: config.oidc.clientId, keys, state });

  /** Keeps the creator's share links in step with what the IdP just said about their roles. */
  async function observeSharer(user: SessionUser, source: 'sign-in' | 'refresh'): Promise<void> {
    const revoked = await creatorStanding.observe(user.principal, source);
    if (revoked > 0) logger.info({ sub: user.principal.sub, revoked }, 'share links revoked: their creator no longer holds a share role');
  }

  /** The access token passes the same checks as a Bearer token; roles are read from it. */
  async function toUser(tokens: TokenSet, sid: string | undefined, signedInAt: number): Promise<SessionUser> {
    const claims = await bearer.verify(tokens.accessToken);
    const { via: _via, ...principal } = principalFromClaims(claims, 'session', config.oidc.rolesClient, config.studyAccess?.claim);
    return { principal, tokens, sid, signedInAt };
  }

  const refreshed = createRefresher({
    store,
    state,
    refresh: async (user) => {
      let next: SessionUser;
      try {
        next = await toUser(await oidc.refresh(user.tokens), user.sid, user.signedInAt);
        logger.info({ sub: user.principal.sub }, 'session access token refreshed');
        metrics.tokenRefresh('success');
      } catch (error) {
        metrics.tokenRefresh('failure');
        // invalid_grant: disabled, signed out, or the IdP session expired. The IdP no longer vouches for them.
        if (user.principal.roles.some((role) => config.share.roles.includes(role))) await creatorStanding.suspend(user.principal.sub);
        throw new RefreshFailed(`token refresh failed: ${(error as Error).message}`);
      }
      await observeSharer(next, 'refresh');
      return next;
    },
  });

  /**
   * The recipient of a share link; the link and its creator's standing are looked up on every
   * request, so revoking a link or suspending its creator takes effect at once, on every replica.
   */
  async function sharePrincipal(req: Request): Promise<Principal | null> {
    const link = await shareLinks.get(req.session.share?.id ?? '');
    if (!link || !(await creatorStanding.isConfirmed(link.createdBy))) {
      delete req.session.share;
      return null;
    }
    return {
      sub: `share:${link.id}`,
      username: `${link.dropBox ? 'drop box' : 'shared link'} from ${link.createdByName}`,
      name: undefined,
      email: undefined,
      roles: [],
      via: 'share',
      expiresAt: Math.floor(link.expiresAt / 1000),
      sharedBy: { sub: link.createdBy, username: link.createdByName },
      // Neither (no such link is created): no scope and no roles, so policy refuses everything.
      ...(link.dropBox ? { dropBox: true } : link.studyInstanceUid ? { studyScope: link.studyInstanceUid } : {}),
    };
  }

  async function end(req: Request): Promise<SessionUser | undefined> {
    const user = req.session?.user;
    if (user) await index.remove(req.sessionID, { sid: user.sid, sub: user.principal.sub });
    if (req.session) await destroy(req.session);
    return user;
  }

  return {
    async signIn(req: Request, tokens: TokenSet, sid: string | undefined): Promise<void> {
      const user = await toUser(tokens, sid, Date.now());
      await regenerate(req.session); // a new session id at sign-in: no fixation
      req.session.user = user;
      await save(req.session);
      await index.add(req.sessionID, { sid, sub: user.principal.sub });
      await observeSharer(user, 'sign-in');
      logger.info({ sub: user.principal.sub, username: user.principal.username }, 'signed in');
    },

    /** The signed-in principal of this request's session, or null. */
    async principal(req: Request): Promise<Principal | null> {
      const user = req.session?.user;
      if (!user) return req.session?.share ? sharePrincipal(req) : null;
      if (isPastAbsoluteLifetime(user, config.session.maxSeconds)) {
        await end(req);
        return null;
      }
      let current = user;
      if (needsRefresh(user)) {
        try {
          current = await refreshed(req.sessionID, user);
          req.session.user = current;
        } catch (error) {
          if (!(error instanceof RefreshFailed)) throw error; // the session store itself failed: 503
          logger.info({ sub: user.principal.sub, reason: error.message }, 'session ended: token refresh failed');
          await end(req);
          return null;
        }
      }
      return { ...current.principal, via: 'session' };
    },

    /**
     * The user's own sign-out (POST /auth/logout): ends this request's session, marked so that the
     * IdP's back-channel logout that follows does not pause the user's share links. Returns the user
     * it belonged to (for the IdP logout).
     */
    async signOut(req: Request): Promise<SessionUser | undefined> {
      const user = req.session?.user;
      if (!user) return end(req);
      const sessionId = req.sessionID;
      await destroy(req.session);
      await endBySignOut(store, sessionId); // stays in the index: the logout that follows must find it
      return user;
    },

    /** Starts a share-link recipient's session (a new session id, no user). */
    async openShare(req: Request, link: ShareLink): Promise<void> {
      await regenerate(req.session);
      req.session.share = { id: link.id, createdBy: link.createdBy };
      await save(req.session);
    },

    /** Validates a back-channel logout token and ends every session of its sid/sub. */
    async backchannelLogout(logoutToken: string): Promise<LogoutTarget & { ended: number }> {
      const target = await validateLogoutToken(logoutToken);
      // Their share links pause until they sign in again, unless this only echoes their own sign-out.
      const subs = await index.subsToPause(target);
      await Promise.all(subs.map(creatorStanding.suspend));
      const ended = await index.destroyAll(target);
      logger.info({ ...target, ended, linksPaused: subs.length > 0 }, 'back-channel logout');
      return { ...target, ended };
    },
  };
}

export type BrowserSessions = ReturnType<typeof createBrowserSessions>;
