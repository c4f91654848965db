import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeJwt } from 'jose';
import { AuditTokenError, createAuditTokenSource, type AuditTokenOptions } from '../../src/audit/fhir-token.js';
import { createIssuerMetadataSource } from '../../src/auth/issuer.js';
import { freePort } from '../support/free-port.js';
import { AUDIT_CLIENT, startIdentityProvider, type IdentityProvider } from '../support/identity-provider.js';

/**
 * The FHIR audit transport's token source against the real dev IdP (its service-account client):
 * concurrent callers share one token request, a token is reused until shortly before it expires,
 * a dropped token is replaced, an explicit token URL needs no discovery, and a failure names the
 * client and the IdP's error but not the secret. Each token request gives a new token (its own
 * `jti`), so distinct tokens count the requests.
 */

let provider: IdentityProvider;

const options = (extra: Partial<AuditTokenOptions> = {}): AuditTokenOptions => ({
  clientId: AUDIT_CLIENT.clientId,
  clientSecret: AUDIT_CLIENT.secret,
  tokenUrl: undefined,
  scope: undefined,
  issuer: provider.issuer,
  metadata: createIssuerMetadataSource({ issuer: provider.issuer, discoveryUrl: provider.discoveryUrl }),
  timeoutMs: 5000,
  ...extra,
});

beforeAll(async () => {
  provider = await startIdentityProvider('dev-idp', { appOrigin: `http://127.0.0.1:${await freePort()}` });
}, 60_000);

afterAll(async () => {
  await provider?.stop();
});

describe('audit token source (client credentials)', () => {
  it('gives concurrent callers one token from one request, of the audit client, and reuses it', async () => {
    const tokens = createAuditTokenSource(options());
    const first = await Promise.all([tokens.get(), tokens.get(), tokens.get(), tokens.get()]);
    expect(new Set(first).size).toBe(1);
    expect(decodeJwt(first[0]!)).toMatchObject({ iss: provider.issuer, azp: AUDIT_CLIENT.clientId, aud: AUDIT_CLIENT.audience });
    expect(await tokens.get()).toBe(first[0]);
  });

  it('replaces a dropped token; dropping an older token keeps the current one', async () => {
    const tokens = createAuditTokenSource(options());
    const old = await tokens.get();
    tokens.drop(old);
    const renewed = await tokens.get();
    expect(renewed).not.toBe(old);
    tokens.drop(old);
    expect(await tokens.get()).toBe(renewed);
  });

  it('renews a token before it expires (a 2 s token is renewed after half its lifetime)', async () => {
    await provider.setAccessTokenLifespan(2);
    try {
      const tokens = createAuditTokenSource(options());
      const first = await tokens.get();
      expect(await tokens.get()).toBe(first);
      await new Promise((resolve) => setTimeout(resolve, 1100));
      expect(await tokens.get()).not.toBe(first);
    } finally {
      await provider.setAccessTokenLifespan(300);
    }
  });

  it('uses AUDIT_FHIR_TOKEN_URL without the discovery document', async () => {
    const deadDiscovery = createIssuerMetadataSource({ issuer: provider.issuer, discoveryUrl: `http://127.0.0.1:${await freePort()}` });
    const tokens = createAuditTokenSource(options({ metadata: deadDiscovery, tokenUrl: `${provider.issuer}/protocol/openid-connect/token` }));
    expect(decodeJwt(await tokens.get())).toMatchObject({ azp: AUDIT_CLIENT.clientId });
  });

  it.each([
    { case: 'a wrong secret', extra: async () => ({ clientSecret: 'wrong-audit-secret' }), reason: /\(client audit-sender\): invalid_client/ },
    { case: 'an unreachable token endpoint', extra: async () => ({ tokenUrl: `http://127.0.0.1:${await freePort()}/token` }), reason: /\(client audit-sender\): .*(fetch failed|ECONNREFUSED)/ },
  ])('fails with $case: an AuditTokenError naming the client and why, not the secret', async ({ extra, reason }) => {
    const tokens = createAuditTokenSource(options(await extra()));
    const error = await tokens.get().then(() => undefined, (failure: unknown) => failure as Error);
    expect(error).toBeInstanceOf(AuditTokenError);
    expect(error!.message).toMatch(reason);
    expect(error!.message).not.toContain('wrong-audit-secret');
    expect(error!.message).not.toContain(AUDIT_CLIENT.secret);
  });
});
