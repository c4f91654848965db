import { createLocalJWKSet, createRemoteJWKSet, errors, type JWTVerifyGetKey } from 'jose';
import type { Logger } from '../observability/logger.js';
import type { IssuerMetadataSource } from './issuer.js';

export type IssuerKeySet = JWTVerifyGetKey;

export interface IssuerKeysOptions {
  /** Minimum pause between two JWKS downloads triggered by unknown `kid`s (default: 30 s, at most the cache age). */
  cooldownMs?: number;
  /** How long a downloaded JWKS is used before it is downloaded again (JWKS_CACHE_SECONDS, default 10 min). */
  cacheMaxAgeMs?: number;
}

/** The download failed (IdP down, slow, or answering garbage), as opposed to "no such key". */
function isUnreachable(error: unknown): boolean {
  if (!(error instanceof errors.JOSEError)) return true; // fetch failed: connection refused, DNS…
  return error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid || error.constructor === errors.JOSEError;
}

/**
 * The issuer's signing keys, shared by everything that verifies the IdP's JWTs (access tokens,
 * back-channel logout tokens): a remote JWKS, downloaded again once it is older than the cache age
 * and when a token names an unknown `kid` (new key: accepted on first sight, at most one download
 * per cooldown). While the IdP cannot be reached, the last downloaded key set stays in use (retried
 * once per cooldown), so Bearer tokens keep validating through an IdP outage of any length.
 */
export function createIssuerKeys(metadata: IssuerMetadataSource, options: IssuerKeysOptions = {}) {
  const cacheMaxAge = options.cacheMaxAgeMs ?? 600_000;
  const cooldown = options.cooldownMs ?? Math.min(30_000, cacheMaxAge);
  let remote: ReturnType<typeof createRemoteJWKSet> | undefined;
  let keySet: IssuerKeySet | undefined;
  /** The last downloaded key set, in use after a failed download until the next attempt succeeds. */
  let fallback: IssuerKeySet | undefined;
  let lastFailureAt = -Infinity;

  async function remoteKeys() {
    if (!remote) {
      const { jwks_uri } = await metadata.get();
      remote = createRemoteJWKSet(new URL(jwks_uri), { cooldownDuration: cooldown, cacheMaxAge, timeoutDuration: 5000 });
    }
    return remote;
  }

  return {
    async get(): Promise<IssuerKeySet> {
      if (keySet) return keySet;
      const download = await remoteKeys();
      keySet = async (header, token) => {
        if (fallback && !download.fresh && Date.now() - lastFailureAt < cooldown) return fallback(header, token);
        try {
          return await download(header, token);
        } catch (error) {
          const last = isUnreachable(error) ? download.jwks() : undefined;
          if (!last) throw error;
          lastFailureAt = Date.now();
          fallback = createLocalJWKSet(last);
          return fallback(header, token);
        }
      };
      return keySet;
    },
    /** Downloads discovery and the key set now (background warm-up at start). */
    async prefetch(): Promise<void> {
      await (await remoteKeys()).reload();
    },
  };
}

export type IssuerKeys = ReturnType<typeof createIssuerKeys>;

/**
 * Fetches discovery and the JWKS in the background until both succeed, so a gateway started
 * before its IdP serves Bearer tokens as soon as the IdP answers. Returns a stop function.
 */
export function warmUpIssuer(keys: IssuerKeys, logger: Logger, retryMs = 5000): () => void {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let failures = 0;
  const attempt = () => {
    keys.prefetch().then(
      () => {
        if (failures > 0) logger.info('identity provider reachable: discovery and signing keys loaded');
      },
      (error: Error) => {
        if (stopped) return;
        if (failures++ === 0) {
          logger.warn({ err: error }, `identity provider not reachable yet; retrying every ${retryMs / 1000} s in the background (Bearer requests answer 503, sign-in shows "Identity provider unavailable")`);
        }
        timer = setTimeout(attempt, retryMs);
        timer.unref();
      },
    );
  };
  attempt();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
