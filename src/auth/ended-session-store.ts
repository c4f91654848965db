import { RedisStore } from 'connect-redis';
import { MemoryStore, type SessionData, type Store } from 'express-session';
import type { RedisClient } from './redis.js';

type StoreCallback = (error?: unknown) => unknown;
type GetCallback = (error: unknown, session?: SessionData | null) => unknown;
/** Told after a session was saved or ended (not touched): cached copies of it must go (session-invalidation.ts). */
export type SessionChanged = (sessionId: string) => Promise<void>;
const unobserved: SessionChanged = async () => {};

/** What an ended session's key holds instead of its data (not JSON, so never mistaken for a session). */
export const ENDED_SESSION = 'ended';
/** The marker of a session the user ended themselves (POST /auth/logout): the IdP's logout that follows is its echo. */
export const ENDED_BY_SIGN_OUT = 'ended:sign-out';

/** Where a session stands: in use, ended by its user's own sign-out, or gone (ended otherwise, expired, unknown). */
export type SessionStatus = 'live' | 'signed-out' | 'gone';

// One key per script (Redis Cluster). A save or touch of an ended session (either marker) is refused, atomically.
const IS_ENDED = `local v = redis.call('get', KEYS[1]) if v and string.sub(v, 1, 5) == 'ended' then return 0 end`;
const SAVE_UNLESS_ENDED = `${IS_ENDED}
redis.call('set', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1`;
const TOUCH_UNLESS_ENDED = `${IS_ENDED}
return redis.call('expire', KEYS[1], ARGV[1])`;
// Ending a session again (express-session's own destroy after a sign-out, a later logout) keeps the sign-out marker.
const END_KEEPING_SIGN_OUT = `if redis.call('get', KEYS[1]) == ARGV[2] then return 0 end
redis.call('set', KEYS[1], ARGV[1], 'EX', ARGV[3])
return 1`;

const isEndedMarker = (raw: string) => raw === ENDED_SESSION || raw === ENDED_BY_SIGN_OUT;

const callback = (cb: GetCallback | undefined, error: unknown, data?: SessionData | null) => {
  if (cb) return cb(error, data);
  if (error) throw error;
  return data;
};

/**
 * connect-redis, except that ending a session leaves a marker under its key (for `endedTtlSeconds`)
 * instead of deleting it, and that saves and touches are refused once the marker is there. Without
 * it, express-session's save at the end of a request that began before a logout (a token refresh,
 * a long upload) would write the session back: the logout would be undone.
 */
export class EndedSessionRedisStore extends RedisStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly endedTtlSeconds: number,
    private readonly changed: SessionChanged = unobserved,
  ) {
    super({ client: redis, prefix: 'gw:sess:' });
  }

  private ttlSeconds(sess: SessionData): number {
    const expires = sess.cookie?.expires;
    return expires ? Math.ceil((new Date(expires).getTime() - Date.now()) / 1000) : (this.ttl as number);
  }

  override async get(sid: string, cb?: GetCallback): Promise<unknown> {
    try {
      const raw = await this.redis.get(this.prefix + sid);
      return callback(cb, null, !raw || isEndedMarker(raw) ? null : (JSON.parse(raw) as SessionData));
    } catch (error) {
      return callback(cb, error);
    }
  }

  /** Saves the session unless it has ended meanwhile; false when it had. */
  async saveUnlessEnded(sid: string, sess: SessionData): Promise<boolean> {
    const ttl = this.ttlSeconds(sess);
    if (ttl <= 0) {
      await this.destroy(sid);
      return false;
    }
    const saved = (await this.redis.eval(SAVE_UNLESS_ENDED, 1, this.prefix + sid, JSON.stringify(sess), ttl)) === 1;
    await this.changed(sid);
    return saved;
  }

  override async set(sid: string, sess: SessionData, cb?: StoreCallback): Promise<unknown> {
    try {
      await this.saveUnlessEnded(sid, sess); // an ended session stays ended; the request itself still completes
      return callback(cb, null);
    } catch (error) {
      return callback(cb, error);
    }
  }

  override async touch(sid: string, sess: SessionData, cb?: StoreCallback): Promise<unknown> {
    try {
      await this.redis.eval(TOUCH_UNLESS_ENDED, 1, this.prefix + sid, this.ttlSeconds(sess));
      return callback(cb, null);
    } catch (error) {
      return callback(cb, error);
    }
  }

  override async destroy(sid: string, cb?: StoreCallback): Promise<unknown> {
    try {
      await this.redis.eval(END_KEEPING_SIGN_OUT, 1, this.prefix + sid, ENDED_SESSION, ENDED_BY_SIGN_OUT, this.endedTtlSeconds);
      await this.changed(sid);
      return callback(cb, null);
    } catch (error) {
      return callback(cb, error);
    }
  }

  /** Ends the session as its user's own sign-out (a different marker, refused by saves alike). */
  async endBySignOut(sid: string): Promise<void> {
    await this.redis.set(this.prefix + sid, ENDED_BY_SIGN_OUT, 'EX', this.endedTtlSeconds);
    await this.changed(sid);
  }

  async status(sid: string): Promise<SessionStatus> {
    const raw = await this.redis.get(this.prefix + sid);
    if (raw === ENDED_BY_SIGN_OUT) return 'signed-out';
    return !raw || raw === ENDED_SESSION ? 'gone' : 'live';
  }
}

/** The same rule for the in-process store of a gateway without Redis (development). */
export class EndedSessionMemoryStore extends MemoryStore {
  /** Ended session id → until when it is remembered (ms), and whether its user signed out. */
  private readonly ended = new Map<string, { until: number; bySignOut: boolean }>();

  constructor(
    private readonly endedTtlSeconds: number,
    private readonly changed: SessionChanged = unobserved,
  ) {
    super();
  }

  private endedEntry(sid: string) {
    const entry = this.ended.get(sid);
    if (entry && entry.until <= Date.now()) this.ended.delete(sid);
    return entry && entry.until > Date.now() ? entry : undefined;
  }

  private hasEnded(sid: string): boolean {
    return this.endedEntry(sid) !== undefined;
  }

  async saveUnlessEnded(sid: string, sess: SessionData): Promise<boolean> {
    if (this.hasEnded(sid)) return false;
    await new Promise<void>((resolve, reject) => super.set(sid, sess, (error) => (error ? reject(error) : resolve())));
    await this.changed(sid);
    return true;
  }

  override set(sid: string, sess: SessionData, cb?: (error?: unknown) => void): void {
    if (this.hasEnded(sid)) return cb?.();
    super.set(sid, sess, (error) => void this.changed(sid).then(() => cb?.(error)));
  }

  override touch(sid: string, sess: SessionData, cb?: () => void): void {
    if (this.hasEnded(sid)) return cb?.();
    super.touch(sid, sess, cb);
  }

  override destroy(sid: string, cb?: (error?: unknown) => void): void {
    const bySignOut = this.endedEntry(sid)?.bySignOut ?? false;
    this.ended.set(sid, { until: Date.now() + this.endedTtlSeconds * 1000, bySignOut });
    super.destroy(sid, (error) => void this.changed(sid).then(() => cb?.(error)));
  }

  async endBySignOut(sid: string): Promise<void> {
    await new Promise<void>((resolve, reject) => super.destroy(sid, (error) => (error ? reject(error) : resolve())));
    this.ended.set(sid, { until: Date.now() + this.endedTtlSeconds * 1000, bySignOut: true });
    await this.changed(sid);
  }

  async status(sid: string): Promise<SessionStatus> {
    const ended = this.endedEntry(sid);
    if (ended) return ended.bySignOut ? 'signed-out' : 'gone';
    return (await loadSession(this, sid)) ? 'live' : 'gone';
  }
}

const loadSession = (store: Store, sid: string) =>
  new Promise<SessionData | null | undefined>((resolve, reject) => store.get(sid, (error, data) => (error ? reject(error) : resolve(data))));

const remembersEndings = (store: Store): store is EndedSessionRedisStore | EndedSessionMemoryStore =>
  store instanceof EndedSessionRedisStore || store instanceof EndedSessionMemoryStore;

/** Where a session stands; a store that keeps no ended markers knows only live and gone. */
export async function sessionStatus(store: Store, sid: string): Promise<SessionStatus> {
  if (remembersEndings(store)) return store.status(sid);
  return (await loadSession(store, sid)) ? 'live' : 'gone';
}

/** Ends a session as its user's own sign-out (POST /auth/logout). */
export async function endBySignOut(store: Store, sid: string): Promise<void> {
  if (remembersEndings(store)) return store.endBySignOut(sid);
  throw new TypeError('the session store cannot remember ended sessions');
}

/** Saves through the store unless the session ended meanwhile; false when it had. */
export async function saveUnlessEnded(store: Store, sid: string, sess: SessionData): Promise<boolean> {
  if (remembersEndings(store)) return store.saveUnlessEnded(sid, sess);
  throw new TypeError('the session store cannot refuse ended sessions');
}
