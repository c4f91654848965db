/** The introspection verifier over the IdP's answers (RFC 7662 responses as plain inputs). */
import { describe, expect, it } from '@jest/globals';
import type { IntrospectionResponse } from 'openid-client';
import { createIntrospectionVerifier } from '../../../src/auth/introspection.js';
import { GatewayError } from '../../../src/errors.js';

const ISSUER = 'https://idp.example/realms/orthanc';
const T0 = 1_800_000_000_000;
const seconds = (ms: number) => Math.floor(ms / 1000);
const ACTIVE: IntrospectionResponse = {
  active: true, iss: ISSUER, aud: ['orthanc-gateway', 'account'], sub: 'u1', exp: seconds(T0) + 300, typ: 'Bearer',
  realm_access: { roles: ['pacs-viewer'] }, token_type: 'Bearer',
};

function verifierFor(answers: Array<IntrospectionResponse | Error>, cacheSeconds = 30) {
  const clock = { now: T0 };
  const asked: string[] = [];
  const verifier = createIntrospectionVerifier({
    issuer: ISSUER,
    audience: 'orthanc-gateway',
    cacheSeconds,
    now: () => clock.now,
    introspect: async (token) => {
      asked.push(token);
      const answer = answers[Math.min(asked.length, answers.length) - 1]!;
      if (answer instanceof Error) throw answer;
      return answer;
    },
  });
  return { verifier, asked, clock };
}

async function refusal(promise: Promise<unknown>): Promise<GatewayError> {
  const error = await promise.then(() => undefined, (caught: unknown) => caught);
  if (!(error instanceof GatewayError)) throw new Error(`expected a GatewayError, got ${String(error)}`);
  return error;
}

describe('createIntrospectionVerifier', () => {
  it('returns the claims of an active answer', async () => {
    const { verifier } = verifierFor([ACTIVE]);
    expect(await verifier.verify('t')).toMatchObject({ sub: 'u1', realm_access: { roles: ['pacs-viewer'] } });
  });

  it.each<[string, Partial<IntrospectionResponse>, string]>([
    ['inactive', { active: false }, 'not active'],
    ['another issuer', { iss: 'https://evil.example' }, '"iss"'],
    ['no audience', { aud: undefined }, '"aud"'],
    ['another audience', { aud: 'account' }, '"aud"'],
    ['no subject', { sub: undefined }, '"sub"'],
    ['no exp', { exp: undefined }, 'expired'],
    ['a past exp', { exp: seconds(T0) - 120 }, 'expired'],
    ['a refresh token', { typ: 'Refresh' }, 'not an access token'],
  ])('refuses %s (401 invalid_token)', async (_name, change, message) => {
    const { verifier } = verifierFor([{ ...ACTIVE, ...change } as IntrospectionResponse]);
    const error = await refusal(verifier.verify('t'));
    expect(error.code).toBe('invalid_token');
    expect(error.message).toContain(message);
    expect(error.reason).toBe(message === 'expired' ? 'expired' : undefined);
    expect(error.headers['www-authenticate']).not.toMatch(/error_description="[^"]*"[^,]*"/);
  });

  it('answers 503 when the IdP does not answer (never 401)', async () => {
    const { verifier } = verifierFor([new TypeError('fetch failed')]);
    expect((await refusal(verifier.verify('t'))).code).toBe('service_unavailable');
  });

  it('reuses an active answer until the cache bound, then asks again (revocation counts from then on)', async () => {
    const { verifier, asked, clock } = verifierFor([ACTIVE, { active: false }], 10);
    await verifier.verify('t');
    clock.now = T0 + 9_000;
    await verifier.verify('t');
    expect(asked).toHaveLength(1);
    clock.now = T0 + 10_001;
    expect((await refusal(verifier.verify('t'))).code).toBe('invalid_token');
    expect(asked).toHaveLength(2);
  });

  it('verified(): the cached claims without waiting, only while verify would reuse them', async () => {
    const { verifier, asked, clock } = verifierFor([ACTIVE], 10);
    expect(verifier.verified('t')).toBeUndefined();
    const claims = await verifier.verify('t');
    clock.now = T0 + 9_000;
    expect(verifier.verified('t')).toBe(claims);
    expect(verifier.verified('other')).toBeUndefined();
    clock.now = T0 + 10_001;
    expect(verifier.verified('t')).toBeUndefined();
    expect(asked).toHaveLength(1);
  });

  it('never reuses an answer past the token\'s exp', async () => {
    const { verifier, asked, clock } = verifierFor([{ ...ACTIVE, exp: seconds(T0) + 5 }], 300);
    await verifier.verify('t');
    clock.now = T0 + 6_000;
    await verifier.verify('t').catch(() => undefined);
    expect(asked).toHaveLength(2);
  });

  it('does not cache inactive answers, nor anything with a cache of 0 s', async () => {
    const inactive = verifierFor([{ active: false }, ACTIVE]);
    await refusal(inactive.verifier.verify('t'));
    expect(await inactive.verifier.verify('t')).toMatchObject({ sub: 'u1' });
    const uncached = verifierFor([ACTIVE], 0);
    await uncached.verifier.verify('t');
    await uncached.verifier.verify('t');
    expect(uncached.asked).toHaveLength(2);
  });

  it('asks once for concurrent requests with one new token', async () => {
    const { verifier, asked } = verifierFor([ACTIVE]);
    await Promise.all(Array.from({ length: 20 }, () => verifier.verify('t')));
    expect(asked).toHaveLength(1);
  });
});
