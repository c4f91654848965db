/** doctor's checks: pure functions over a realm snapshot, one row per thing that breaks the gateway. */
import { describe, expect, it } from '@jest/globals';
import { diagnose, hasProblems, type DoctorExpectations } from '../../../src/keycloak-setup/checks.js';
import type { ClientSnapshot, RealmSnapshot, ScopeSnapshot } from '../../../src/keycloak-setup/snapshot.js';
import { wantedState } from '../../../src/keycloak-setup/wanted-state.js';

const EXPECT: DoctorExpectations = {
  publicUrl: 'https://pacs.example.org',
  clientId: 'orthanc-gateway',
  audience: 'orthanc-gateway',
  roles: ['pacs-viewer', 'pacs-uploader', 'pacs-admin'],
  groupsMapper: false,
  ohifClientId: 'ohif-viewer',
  tokenValidation: 'jwt',
  maxAccessTokenSeconds: 900,
};
/** The "roles" client scope's mapper, which every default client has. */
const REALM_ROLES_MAPPER = { name: 'realm roles', protocolMapper: 'oidc-usermodel-realm-role-mapper', config: { 'access.token.claim': 'true', 'introspection.token.claim': 'true' } };

/** The snapshot of a realm `setup` prepared: doctor must find nothing in it. */
function healthyRealm(): RealmSnapshot {
  const clients = Object.fromEntries(wantedState(EXPECT).clients.map(({ representation, mappers }): [string, ClientSnapshot] => [
    representation.clientId,
    { representation: structuredClone(representation), mappers: [...structuredClone(mappers), REALM_ROLES_MAPPER] },
  ]));
  return { realm: { realm: 'hospital', accessTokenLifespan: 300, revokeRefreshToken: false, refreshTokenMaxReuse: 0 }, roles: [...EXPECT.roles, 'offline_access'], clients };
}
const gateway = (realm: RealmSnapshot) => realm.clients['orthanc-gateway']!;
const SMART: Partial<DoctorExpectations> = { smartClients: ['orthanc-gateway'] };
/** What setup --smart-clients orthanc-gateway gives the client: the patient scope among its optional scopes. */
function withPatientScope(realm: RealmSnapshot): ScopeSnapshot {
  const [wanted] = wantedState({ ...EXPECT, ...SMART }).clientScopes;
  const scope = { name: wanted!.representation.name, inTokenScope: true, mappers: structuredClone(wanted!.mappers) };
  gateway(realm).scopes = [{ name: 'offline_access', inTokenScope: true, mappers: [] }, scope];
  return scope;
}
const ohif = (realm: RealmSnapshot) => realm.clients['ohif-viewer']!;
const AUDIT: Partial<DoctorExpectations> = { auditClient: { clientId: 'audit-sender', audience: 'fhir-audit', scopes: ['system/AuditEvent.c'] } };
/** The realm after setup --audit-client audit-sender --audit-audience fhir-audit --audit-scope system/AuditEvent.c. */
function withAuditClient(realm: RealmSnapshot): ClientSnapshot {
  const state = wantedState({ ...EXPECT, ...AUDIT });
  const { representation, mappers } = state.clients.find((client) => client.representation.clientId === 'audit-sender')!;
  const scopes = [{ name: 'basic', inTokenScope: false, mappers: [] }, { name: 'system/AuditEvent.c', inTokenScope: true, mappers: [] }];
  realm.clients['audit-sender'] = { representation: structuredClone(representation), mappers: structuredClone(mappers), scopes };
  return realm.clients['audit-sender'];
}

type Row = [string, (realm: RealmSnapshot) => void, string[], Partial<DoctorExpectations>?];
const rows: Row[] = [
  ['a healthy realm', () => {}, []],
  ['no gateway client', (realm) => { realm.clients['orthanc-gateway'] = undefined; }, ['client-missing']],
  ['a missing role', (realm) => { realm.roles = ['pacs-viewer']; }, ['role-missing', 'role-missing']],
  ['a disabled client', (realm) => { gateway(realm).representation.enabled = false; }, ['client-disabled']],
  ['a public gateway client', (realm) => { gateway(realm).representation.publicClient = true; }, ['client-not-confidential']],
  ['no audience mapper', (realm) => { gateway(realm).mappers = [REALM_ROLES_MAPPER]; }, ['audience-mapper-missing']],
  ['an audience mapper for another audience', (realm) => { gateway(realm).mappers[0]!.config!['included.client.audience'] = 'account'; }, ['audience-mapper-missing']],
  ['an audience mapper that leaves the access token out', (realm) => { gateway(realm).mappers[0]!.config!['access.token.claim'] = 'false'; }, ['audience-mapper-missing']],
  ['an audience mapper without introspection, introspection mode', (realm) => { gateway(realm).mappers[0]!.config!['introspection.token.claim'] = 'false'; }, ['audience-mapper-missing'], { tokenValidation: 'introspection' }],
  ['an old audience mapper without the introspection flag, introspection mode', (realm) => { delete gateway(realm).mappers[0]!.config!['introspection.token.claim']; }, [], { tokenValidation: 'introspection' }],
  ['an old audience mapper without either flag, introspection mode', (realm) => { gateway(realm).mappers[0]!.config = { 'included.client.audience': 'orthanc-gateway' }; }, ['audience-mapper-missing'], { tokenValidation: 'introspection' }],
  ['a custom audience mapper naming the audience', (realm) => { gateway(realm).mappers[0]!.config = { 'included.custom.audience': 'orthanc-gateway', 'access.token.claim': 'true' }; }, []],
  ['no realm roles mapper (no "roles" scope)', (realm) => { gateway(realm).mappers.pop(); }, ['realm-roles-mapper-missing']],
  ['PKCE off', (realm) => { delete gateway(realm).representation.attributes!['pkce.code.challenge.method']; }, ['pkce-not-required']],
  ['PKCE plain', (realm) => { gateway(realm).representation.attributes!['pkce.code.challenge.method'] = 'plain'; }, ['pkce-not-required']],
  ['a wildcard redirect URI', (realm) => { gateway(realm).representation.redirectUris = ['https://pacs.example.org/*']; }, ['redirect-uri-wildcard', 'redirect-uri-missing']],
  ['an extra redirect URI', (realm) => { gateway(realm).representation.redirectUris!.push('https://evil.example/cb'); }, ['redirect-uri-extra']],
  ['a redirect URI of another PUBLIC_URL', (realm) => { gateway(realm).representation.redirectUris = ['http://localhost:8080/auth/callback']; }, ['redirect-uri-missing', 'redirect-uri-extra']],
  ['no post-logout redirect', (realm) => { delete gateway(realm).representation.attributes!['post.logout.redirect.uris']; }, ['post-logout-redirect-missing']],
  ['the post-logout redirect among others', (realm) => { gateway(realm).representation.attributes!['post.logout.redirect.uris'] = 'https://other/##https://pacs.example.org/auth/signed-out'; }, []],
  ['only the post-logout redirect of older versions (PUBLIC_URL/)', (realm) => { gateway(realm).representation.attributes!['post.logout.redirect.uris'] = 'https://pacs.example.org/'; }, ['post-logout-redirect-missing']],
  ['no back-channel logout URL', (realm) => { delete gateway(realm).representation.attributes!['backchannel.logout.url']; }, ['backchannel-logout-url']],
  ["another service's back-channel URL", (realm) => { gateway(realm).representation.attributes!['backchannel.logout.url'] = 'https://other/logout'; }, ['backchannel-logout-url']],
  ['back-channel logout without sid', (realm) => { gateway(realm).representation.attributes!['backchannel.logout.session.required'] = 'false'; }, ['backchannel-logout-session-not-required']],
  ['direct access grants on', (realm) => { gateway(realm).representation.directAccessGrantsEnabled = true; }, ['direct-grants-on']],
  ['the implicit flow on', (realm) => { gateway(realm).representation.implicitFlowEnabled = true; }, ['implicit-flow-on']],
  ['the standard flow off', (realm) => { gateway(realm).representation.standardFlowEnabled = false; }, ['standard-flow-off']],
  ['realm access tokens of an hour', (realm) => { realm.realm.accessTokenLifespan = 3600; }, ['access-token-lifespan']],
  ['realm access tokens of 15 min (the bound)', (realm) => { realm.realm.accessTokenLifespan = 900; }, []],
  ["the client's own access tokens of 30 min", (realm) => { gateway(realm).representation.attributes!['access.token.lifespan'] = '1800'; }, ['access-token-lifespan']],
  ["the client's lifespan -1 (the realm's)", (realm) => { gateway(realm).representation.attributes!['access.token.lifespan'] = '-1'; }, []],
  ['a stricter bound', (realm) => { realm.realm.accessTokenLifespan = 600; }, ['access-token-lifespan'], { maxAccessTokenSeconds: 300 }],
  ['lightweight access tokens, jwt mode', (realm) => { gateway(realm).representation.attributes!['client.use.lightweight.access.token.enabled'] = 'true'; }, ['lightweight-tokens-without-introspection']],
  ['lightweight access tokens, introspection mode', (realm) => { gateway(realm).representation.attributes!['client.use.lightweight.access.token.enabled'] = 'true'; }, [], { tokenValidation: 'introspection' }],
  ['refresh-token rotation without reuse (a warning)', (realm) => { realm.realm.revokeRefreshToken = true; }, ['refresh-token-rotation']],
  ['no OHIF client', (realm) => { realm.clients['ohif-viewer'] = undefined; }, ['client-missing']],
  ['no OHIF client, OHIF not asked for', (realm) => { realm.clients['ohif-viewer'] = undefined; }, [], { ohifClientId: undefined }],
  ['a confidential OHIF client', (realm) => { ohif(realm).representation.publicClient = false; }, ['client-not-public']],
  ['OHIF web origins "*"', (realm) => { ohif(realm).representation.webOrigins = ['*']; }, ['web-origins']],
  ['OHIF without PKCE', (realm) => { delete ohif(realm).representation.attributes!['pkce.code.challenge.method']; }, ['pkce-not-required']],
  ['OHIF with a wildcard redirect', (realm) => { ohif(realm).representation.redirectUris!.push('https://pacs.example.org/*'); }, ['redirect-uri-wildcard']],
  ['OHIF with direct grants', (realm) => { ohif(realm).representation.directAccessGrantsEnabled = true; }, ['direct-grants-on']],
  ['no patient scope, SMART_CLIENTS unset', () => {}, []],
  ['a SMART client with the patient scope of setup', (realm) => { withPatientScope(realm); }, [], SMART],
  ['a SMART client without the patient scope', () => {}, ['smart-scope-missing'], SMART],
  ['a SMART client that does not exist', (realm) => { withPatientScope(realm); }, ['client-missing'], { smartClients: ['patient-portal'] }],
  ['the patient scope left out of the token scope', (realm) => { withPatientScope(realm).inTokenScope = false; }, ['smart-scope-not-in-token'], SMART],
  ['the patient scope without its mapper', (realm) => { withPatientScope(realm).mappers = []; }, ['smart-patient-mapper-missing'], SMART],
  ['the patient mapper off the access token', (realm) => { withPatientScope(realm).mappers[0]!.config!['access.token.claim'] = 'false'; }, ['smart-patient-mapper-missing'], SMART],
  ['the patient mapper writing another claim than SMART_PATIENT_CLAIM', (realm) => { withPatientScope(realm); }, ['smart-patient-mapper-missing'], { ...SMART, patientClaim: 'ext.patient' }],
  ['the patient mapper without introspection, introspection mode', (realm) => { withPatientScope(realm).mappers[0]!.config!['introspection.token.claim'] = 'false'; }, ['smart-patient-mapper-missing'], { ...SMART, tokenValidation: 'introspection' }],
  ['no audit client, AUDIT_FHIR_CLIENT_ID unset', () => {}, []],
  ['the audit client of setup', (realm) => { withAuditClient(realm); }, [], AUDIT],
  ['the audit client of setup, no audience or scope asked for', (realm) => { withAuditClient(realm).mappers = []; }, [], { auditClient: { clientId: 'audit-sender', audience: undefined, scopes: [] } }],
  ['no audit client', () => {}, ['client-missing'], AUDIT],
  ['a public audit client', (realm) => { withAuditClient(realm).representation.publicClient = true; }, ['client-not-confidential'], AUDIT],
  ['a disabled audit client', (realm) => { withAuditClient(realm).representation.enabled = false; }, ['client-disabled'], AUDIT],
  ["the audit client's service account off", (realm) => { withAuditClient(realm).representation.serviceAccountsEnabled = false; }, ['service-account-off'], AUDIT],
  ["the audit client's standard flow on", (realm) => { withAuditClient(realm).representation.standardFlowEnabled = true; }, ['standard-flow-on'], AUDIT],
  ["the audit client's direct grants and implicit flow on", (realm) => { Object.assign(withAuditClient(realm).representation, { directAccessGrantsEnabled: true, implicitFlowEnabled: true }); }, ['implicit-flow-on', 'direct-grants-on'], AUDIT],
  ['the audit client without its audience mapper', (realm) => { withAuditClient(realm).mappers = []; }, ['audit-audience-mapper-missing'], AUDIT],
  ['the audit audience mapper off the access token', (realm) => { withAuditClient(realm).mappers[0]!.config!['access.token.claim'] = 'false'; }, ['audit-audience-mapper-missing'], AUDIT],
  ['the audit client without the AUDIT_FHIR_SCOPE scope', (realm) => { withAuditClient(realm).scopes!.pop(); }, ['audit-scope-missing'], AUDIT],
  ['AUDIT_FHIR_SCOPE naming a default scope of the client', (realm) => { withAuditClient(realm); }, [], { auditClient: { clientId: 'audit-sender', audience: undefined, scopes: ['basic'] } }],
];

describe('diagnose', () => {
  // Every row gets four columns: jest takes a callback with more parameters than columns for `done`.
  it.each(rows.map(([name, breakIt, ids, expectations]) => [name, breakIt, ids, expectations ?? {}] as const))('%s', (_name, breakIt, expectedIds, expectations) => {
    const realm = healthyRealm();
    breakIt(realm);
    const findings = diagnose(realm, { ...EXPECT, ...expectations });
    expect(findings.map((finding) => finding.id)).toEqual(expectedIds);
    for (const finding of findings) {
      expect(finding.message).not.toBe('');
      expect(finding.fix).not.toBe('');
    }
  });

  it("tells to create a missing SMART app's client (setup does not create apps)", () => {
    const [finding] = diagnose(healthyRealm(), { ...EXPECT, smartClients: ['patient-portal'] });
    expect(finding).toMatchObject({ id: 'client-missing', client: 'patient-portal', fix: expect.stringMatching(/^Create the app's client "patient-portal".*--smart-clients patient-portal$/) });
  });

  it('tells how to create a missing audit client and where its secret goes', () => {
    const [missing] = diagnose(healthyRealm(), { ...EXPECT, ...AUDIT });
    expect(missing).toMatchObject({ id: 'client-missing', client: 'audit-sender', fix: expect.stringContaining('--audit-client audit-sender') });
    const realm = healthyRealm();
    withAuditClient(realm).representation.publicClient = true;
    expect(diagnose(realm, { ...EXPECT, ...AUDIT })[0]!.fix).toContain('AUDIT_FHIR_CLIENT_SECRET');
  });

  it('says which client a finding is about', () => {
    const realm = healthyRealm();
    ohif(realm).representation.directAccessGrantsEnabled = true;
    expect(diagnose(realm, EXPECT)).toEqual([expect.objectContaining({ id: 'direct-grants-on', client: 'ohif-viewer' })]);
  });

  it('explains why a long token lifespan matters', () => {
    const realm = healthyRealm();
    realm.realm.accessTokenLifespan = 3600;
    expect(diagnose(realm, EXPECT)[0]!.message).toMatch(/until its exp.*sign-out/);
  });
});

describe('hasProblems', () => {
  it('is true for a problem, false for warnings alone', () => {
    const fix = 'f';
    expect(hasProblems([{ id: 'a', severity: 'warning', message: 'm', fix }])).toBe(false);
    expect(hasProblems([{ id: 'a', severity: 'warning', message: 'm', fix }, { id: 'b', severity: 'problem', message: 'm', fix }])).toBe(true);
    expect(hasProblems([])).toBe(false);
  });
});
