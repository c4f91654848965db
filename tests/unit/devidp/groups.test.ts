/**
 * The dev IdP applies Keycloak's `oidc-group-membership-mapper` from the realm export: direct group
 * memberships as names (full.path "false") or paths, in access tokens only, no claim without groups.
 */
import { describe, expect, it } from '@jest/globals';
import { accessTokenClaims } from '../../../src/devidp/claims.js';
import { parseRealm, type DevRealm } from '../../../src/devidp/realm.js';

const GROUPS = [{ name: 'Hospital A', subGroups: [{ name: 'Radiology' }] }, { name: 'Hospital B' }];

function realmWith(mapperConfig: Record<string, string>, userGroups: string[]): DevRealm {
  return parseRealm({
    realm: 'orthanc',
    groups: GROUPS,
    clients: [
      {
        clientId: 'orthanc-gateway',
        secret: 'secret',
        redirectUris: ['http://localhost:8080/auth/callback'],
        protocolMappers: [{ protocolMapper: 'oidc-group-membership-mapper', config: { 'claim.name': 'groups', ...mapperConfig } }],
      },
    ],
    users: [{ username: 'member', groups: userGroups }],
  });
}

function claimsOf(realm: DevRealm): Record<string, unknown> {
  return accessTokenClaims(realm.users[0]!, realm.clients[0]!, undefined);
}

describe('group membership mapper', () => {
  it.each([
    ['names with full.path "false"', { 'full.path': 'false' }, ['Hospital B', 'Radiology']],
    ['paths with full.path "true"', { 'full.path': 'true' }, ['/Hospital B', '/Hospital A/Radiology']],
  ])('emits %s', (_name, config, expected) => {
    const realm = realmWith({ ...config, 'access.token.claim': 'true' }, ['/Hospital B', '/Hospital A/Radiology']);
    expect(claimsOf(realm)['groups']).toEqual(expected);
  });

  it('emits no claim for a user without groups, nor when the mapper is off for access tokens', () => {
    expect(claimsOf(realmWith({ 'access.token.claim': 'true' }, []))).not.toHaveProperty('groups');
    expect(claimsOf(realmWith({ 'access.token.claim': 'false' }, ['/Hospital A']))).not.toHaveProperty('groups');
  });

  it.each([
    ['a group that does not exist', { 'access.token.claim': 'true' }, ['/Hospital C'], /group "\/Hospital C" is not defined/],
    ['a group by name instead of path', { 'access.token.claim': 'true' }, ['Hospital A'], /group "Hospital A" is not defined/],
    ['groups in ID tokens', { 'access.token.claim': 'true', 'id.token.claim': 'true' }, [], /access tokens only/],
    ['groups in userinfo', { 'access.token.claim': 'false', 'userinfo.token.claim': 'true' }, [], /access tokens only/],
    ['a nested claim name', { 'access.token.claim': 'true', 'claim.name': 'org.groups' }, [], /plain claim name/],
  ])('refuses %s', (_name, config, userGroups, message) => {
    expect(() => realmWith(config, userGroups)).toThrow(message);
  });
});
