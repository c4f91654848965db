import { createRemoteJWKSet } from 'jose';
import type { IssuerMetadataSource } from './issuer.js';

export type IssuerKeySet = ReturnType<typeof createRemoteJWKSet>;

export interface IssuerKeysOptions {
  /** Minimum pause between two JWKS downloads triggered by unknown `kid`s. */
  cooldownMs?: number;
  cacheMaxAgeMs?: number;
}

/**
 * The issuer's signing keys (remote JWKS with caching, cooldown and refetch on unknown kid), shared
 * by everything that verifies the IdP's JWTs: access tokens and back-channel logout tokens.
 */
export function createIssuerKeys(metadata: IssuerMetadataSource, options: IssuerKeysOptions = {}) {
  let keySet: IssuerKeySet | undefined;
  return {
    async get(): Promise<IssuerKeySet> {
      if (!keySet) {
        const { jwks_uri } = await metadata.get();
        keySet = createRemoteJWKSet(new URL(jwks_uri), {
          cooldownDuration: options.cooldownMs ?? 30_000,
          cacheMaxAge: options.cacheMaxAgeMs ?? 600_000,
          timeoutDuration: 5000,
        });
      }
      return keySet;
    },
  };
}

export type IssuerKeys = ReturnType<typeof createIssuerKeys>;
