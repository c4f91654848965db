/**
 * What the conformance suite found the dev IdP doing differently from Keycloak 26.4.7, pinned at the
 * unit level: no audience without an audience mapper, auth_time in access tokens, refresh-token
 * rotation from the realm's revokeRefreshToken.
 */
import { describe, expect, it } from '@jest/globals';
import { accessTokenAudience, accessTokenClaims } from '../../../src/devidp/claims.js';
import { parseRealm } from '../../../src/devidp/realm.js';

const client = (clientId: string, protocolMappers: unknown[] = []) => ({
  clientId,
  publicClient: true,
  redirectUris: ['http://localhost:8080/callback'],
  protocolMappers,
});
const audienceMapper = { protocolMapper: 'oidc-audience-mapper', config: { 'included.client.audience': 'orthanc-gateway', 'access.token.claim': 'true' } };

describe('dev IdP parity with Keycloak', () => {
  it('gives access tokens the audiences of the audience mappers only, none without one (not the client itself)', () => {
    const realm = parseRealm({ realm: 'r', clients: [client('with-mapper', [audienceMapper]), client('without-mapper')] });
    expect(accessTokenAudience(realm.clients[0]!)).toBe('orthanc-gateway');
    expect(accessTokenAudience(realm.clients[1]!)).toBeUndefined();
  });

  it('puts auth_time into access tokens when the session has one', () => {
    const realm = parseRealm({ realm: 'r', clients: [client('c')], users: [{ username: 'u' }] });
    expect(accessTokenClaims(realm.users[0]!, realm.clients[0]!, 'sid-1', 1_700_000_000)).toEqual(expect.objectContaining({ auth_time: 1_700_000_000, sid: 'sid-1' }));
    expect(accessTokenClaims(realm.users[0]!, realm.clients[0]!, undefined)).not.toHaveProperty('auth_time');
  });

  it('reads revokeRefreshToken (default off) and refuses a reuse count it cannot honour', () => {
    expect(parseRealm({ realm: 'r' }).revokeRefreshToken).toBe(false);
    expect(parseRealm({ realm: 'r', revokeRefreshToken: true, refreshTokenMaxReuse: 0 }).revokeRefreshToken).toBe(true);
    expect(() => parseRealm({ realm: 'r', revokeRefreshToken: true, refreshTokenMaxReuse: 2 })).toThrow(/refreshTokenMaxReuse 0 only/);
  });
});
