import { RedisStore } from 'connect-redis';
import { MemoryStore, type SessionData, type Store } from 'express-session';
import type { RedisClient } from './redis.js';

type StoreCallback = (error?: unknown) => unknown;
type GetCallback = (error: unknown, session?: SessionData | null) => unknown;

/** What an ended session's key holds instead of its data (not JSON, so never mistaken for a session). */
export const ENDED_SESSION = 'ended';

// One key per script (Redis Cluster). A save or touch of an ended session is refused, atomically.
const SAVE_UNLESS_ENDED = `if redis.call('get', KEYS[1]) == ARGV[1] then return 0 end
redis.call('set', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1`;
const TOUCH_UNLESS_ENDED = `if redis.call('get', KEYS[1]) == ARGV[1] then return 0 end
return redis.call('expire', KEYS[1], ARGV[2])`;

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
      return callback(cb, null, !raw || raw === ENDED_SESSION ? null : (JSON.parse(raw) as SessionData));
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
    return (await this.redis.eval(SAVE_UNLESS_ENDED, 1, this.prefix + sid, ENDED_SESSION, JSON.stringify(sess), ttl)) === 1;
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
      await this.redis.eval(TOUCH_UNLESS_ENDED, 1, this.prefix + sid, ENDED_SESSION, this.ttlSeconds(sess));
      return callback(cb, null);
    } catch (error) {
      return callback(cb, error);
    }
  }

  override async destroy(sid: string, cb?: StoreCallback): Promise<unknown> {
    try {
      await this.redis.set(this.prefix + sid, ENDED_SESSION, 'EX', this.endedTtlSeconds);
      return callback(cb, null);
    } catch (error) {
      return callback(cb, error);
    }
  }
}

/** The same rule for the in-process store of a gateway without Redis (development). */
export class EndedSessionMemoryStore extends MemoryStore {
  /** Ended session id → until when it is remembered (ms). */
  private readonly ended = new Map<string, number>();

  constructor(private readonly endedTtlSeconds: number) {
    super();
  }

  private hasEnded(sid: string): boolean {
    const until = this.ended.get(sid);
    if (until !== undefined && until <= Date.now()) this.ended.delete(sid);
    return until !== undefined && until > Date.now();
  }

  async saveUnlessEnded(sid: string, sess: SessionData): Promise<boolean> {
    if (this.hasEnded(sid)) return false;
    await new Promise<void>((resolve, reject) => super.set(sid, sess, (error) => (error ? reject(error) : resolve())));
    return true;
  }

  override set(sid: string, sess: SessionData, cb?: (error?: unknown) => void): void {
    if (this.hasEnded(sid)) return cb?.();
    super.set(sid, sess, cb);
  }

  override touch(sid: string, sess: SessionData, cb?: () => void): void {
    if (this.hasEnded(sid)) return cb?.();
    super.touch(sid, sess, cb);
  }

  override destroy(sid: string, cb?: (error?: unknown) => void): void {
    this.ended.set(sid, Date.now() + this.endedTtlSeconds * 1000);
    super.destroy(sid, cb);
  }
}

/** Saves through the store unless the session ended meanwhile; false when it had. */
export async function saveUnlessEnded(store: Store, sid: string, sess: SessionData): Promise<boolean> {
  if (store instanceof EndedSessionRedisStore || store instanceof EndedSessionMemoryStore) return store.saveUnlessEnded(sid, sess);
  throw new TypeError('the session store cannot refuse ended sessions');
}
