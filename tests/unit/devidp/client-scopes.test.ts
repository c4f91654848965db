/**
 * The dev IdP's optional client scopes, as `npm run keycloak -- setup --smart-clients` creates them in
 * Keycloak: the scope is granted only to the clients it is optional on, and its user-attribute mapper
 * adds the claim only when the scope is granted and the user has the attribute (first value unless
 * multivalued; dotted claim names nest).
 */
import { describe, expect, it } from '@jest/globals';
import { grantedScopeClaims, optionalScopesOf, withClientScopes } from '../../../src/devidp/client-scopes.js';
import { parseRealm, type DevRealm } from '../../../src/devidp/realm.js';
import { patientMapper, smartPatientScope, SMART_PATIENT_SCOPE } from '../../../src/keycloak-setup/wanted-state.js';

const base = parseRealm({
  realm: 'orthanc',
  clients: [
    { clientId: 'portal', publicClient: true, redirectUris: ['http://localhost:8080/callback'] },
    { clientId: 'other', publicClient: true, redirectUris: ['http://localhost:8080/other'] },
  ],
  users: [
    { username: 'patient', attributes: { patient_id: ['P-1', 'P-1-OLD'] } },
    { username: 'nobody' },
  ],
});
const user = (realm: DevRealm, username: string) => realm.users.find((candidate) => candidate.username === username)!;
const GRANTED = `openid ${SMART_PATIENT_SCOPE}`;

describe('optional client scopes of the dev IdP', () => {
  const realm = withClientScopes(base, [smartPatientScope(['portal'], 'patient')]);

  it('are optional on the named clients only', () => {
    expect(optionalScopesOf(realm, 'portal')).toEqual([SMART_PATIENT_SCOPE]);
    expect(optionalScopesOf(realm, 'other')).toEqual([]);
    expect(base.clientScopes).toEqual([]);
  });

  it.each<[string, string, string, string, Record<string, unknown>]>([
    ['granted, user with the attribute: its first value', 'portal', GRANTED, 'patient', { patient: 'P-1' }],
    ['not granted', 'portal', 'openid profile', 'patient', {}],
    ['granted, user without the attribute: no claim', 'portal', GRANTED, 'nobody', {}],
    ['the scope named by another client: no claim', 'other', GRANTED, 'patient', {}],
  ])('map the attribute: %s', (_name, clientId, granted, username, expected) => {
    expect(grantedScopeClaims(realm, clientId, granted, user(realm, username))).toEqual(expected);
  });

  it('nest a dotted claim name and keep every value of a multivalued mapper', () => {
    const scope = smartPatientScope(['portal'], 'ext.patient');
    scope.mappers = [{ ...patientMapper('ext.patient'), config: { ...patientMapper('ext.patient').config, multivalued: 'true' } }];
    const nested = withClientScopes(base, [scope]);
    expect(grantedScopeClaims(nested, 'portal', GRANTED, user(nested, 'patient'))).toEqual({ ext: { patient: ['P-1', 'P-1-OLD'] } });
  });

  it('refuse a scope on a client the realm does not have, and mappers the dev IdP cannot apply', () => {
    expect(() => withClientScopes(base, [smartPatientScope(['missing'], 'patient')])).toThrow(/no client missing/);
    const idToken = smartPatientScope(['portal'], 'patient');
    idToken.mappers = [{ ...patientMapper('patient'), config: { ...patientMapper('patient').config, 'id.token.claim': 'true' } }];
    expect(() => withClientScopes(base, [idToken])).toThrow(/access tokens only/);
    const other = smartPatientScope(['portal'], 'patient');
    other.mappers = [{ name: 'aud', protocol: 'openid-connect', protocolMapper: 'oidc-audience-mapper', config: {} }];
    expect(() => withClientScopes(base, [other])).toThrow(/user attributes only/);
  });
});
