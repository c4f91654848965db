import { createHmac, randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { JWTPayload } from 'jose';
import { principalFromClaims } from '../../src/auth/principal.js';
import type { SessionUser } from '../../src/auth/session.js';

/**
 * A signed-in browser session without driving a sign-in: the session record express-session +
 * connect-redis would have written after /auth/callback (prefix `gw:sess:`, JSON), and its signed
 * cookie (`s:<id>.<HMAC-SHA256>`, cookie-signature's format). The access token is a real one from
 * the benchmark's issuer, so the gateway sees exactly what a sign-in leaves behind.
 */
export async function createSessionCookie({
  redisUrl,
  secret,
  accessToken,
  claims,
  cookieName = 'gw-session',
  idleSeconds = 1800,
  studyAccessClaim,
}: {
  redisUrl: string;
  secret: string;
  accessToken: string;
  claims: JWTPayload;
  cookieName?: string;
  idleSeconds?: number;
  /** The gateway's STUDY_ACCESS_CLAIM, if set: a sign-in keeps that claim's values in the session principal. */
  studyAccessClaim?: string;
}): Promise<string> {
  const sessionId = randomBytes(24).toString('base64url');
  const { via: _via, ...principal } = principalFromClaims(claims, 'session', undefined, studyAccessClaim);
  const expiresAt = (claims.exp ?? 0) * 1000;
  const user: SessionUser = {
    principal,
    tokens: { accessToken, refreshToken: undefined, idToken: undefined, accessExpiresAt: expiresAt, lifetimeMs: expiresAt - Date.now() },
    sid: String(claims['sid'] ?? ''),
    signedInAt: Date.now(),
  };
  const record = {
    cookie: {
      originalMaxAge: idleSeconds * 1000,
      expires: new Date(Date.now() + idleSeconds * 1000).toISOString(),
      secure: false,
      httpOnly: true,
      path: '/',
      sameSite: 'lax',
    },
    user,
  };
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    await redis.set(`gw:sess:${sessionId}`, JSON.stringify(record), 'EX', idleSeconds);
  } finally {
    redis.disconnect();
  }
  const signature = createHmac('sha256', secret).update(sessionId).digest('base64').replace(/=+$/, '');
  return `${cookieName}=${encodeURIComponent(`s:${sessionId}.${signature}`)}`;
}
