/**
 * What `npm run keycloak -- setup` puts into a realm stays what realm-export/orthanc-realm.json sets
 * up (the export is what the conformance suite tests), for the PUBLIC_URL the export is imported for
 * (Keycloak's GATEWAY_PUBLIC_URL): its default and another one.
 */
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { gatewayRealmVariables, resolvePlaceholders } from '../../../src/devidp/placeholders.js';
import { wantedState, type GatewayTarget } from '../../../src/keycloak-setup/wanted-state.js';

interface ExportedClient {
  clientId: string;
  attributes: Record<string, string>;
  protocolMappers: Array<{ name: string; protocolMapper: string; config: Record<string, string> }>;
  [field: string]: unknown;
}
interface RealmExport {
  clients: ExportedClient[];
  roles: { realm: Array<{ name: string }> };
}
const exportText = readFileSync(new URL('../../../realm-export/orthanc-realm.json', import.meta.url), 'utf8');
/** The export as Keycloak imports it with `env` (placeholders without a variable keep their defaults). */
const imported = (env: Record<string, string> = {}) => resolvePlaceholders(JSON.parse(exportText), env) as RealmExport;
const realmExport = imported();

const TARGET: GatewayTarget = {
  publicUrl: 'http://localhost:8080',
  clientId: 'orthanc-gateway',
  audience: 'orthanc-gateway',
  roles: ['pacs-viewer', 'pacs-uploader', 'pacs-admin'],
  groupsMapper: true,
  ohifClientId: 'ohif-viewer',
};
const wanted = wantedState(TARGET);

describe.each([
  ['orthanc-gateway', TARGET.publicUrl],
  ['ohif-viewer', TARGET.publicUrl],
  ['orthanc-gateway', 'https://pacs.example.org'],
  ['ohif-viewer', 'https://pacs.example.org'],
])('setup and the realm export agree on client %s for PUBLIC_URL %s', (clientId, publicUrl) => {
  const exported = imported(gatewayRealmVariables(publicUrl)).clients.find((client) => client.clientId === clientId)!;
  const setup = wantedState({ ...TARGET, publicUrl }).clients.find((client) => client.representation.clientId === clientId)!;

  it('in every field setup sets', () => {
    const { attributes, ...fields } = setup.representation;
    for (const [field, value] of Object.entries(fields)) expect([field, exported[field] ?? (Array.isArray(value) ? [] : undefined)]).toEqual([field, value]);
    expect(exported.attributes).toEqual(expect.objectContaining(attributes ?? {}));
  });

  it('in its protocol mappers', () => {
    expect(setup.mappers.map(({ name, protocolMapper, config }) => ({ name, protocolMapper, config })))
      .toEqual(exported.protocolMappers.map(({ name, protocolMapper, config }) => ({ name, protocolMapper, config })));
  });
});

describe('wantedState', () => {
  it('has the realm roles of the export', () => {
    expect(wanted.roles.sort()).toEqual(realmExport.roles.realm.map((role) => role.name).sort());
  });

  it('takes every URL from PUBLIC_URL and leaves the OHIF client and groups mapper out unless asked', () => {
    const state = wantedState({ ...TARGET, publicUrl: 'https://pacs.example.org/gw', groupsMapper: false, ohifClientId: undefined });
    expect(state.clients).toHaveLength(1);
    const [gateway] = state.clients;
    expect(gateway!.representation.redirectUris).toEqual(['https://pacs.example.org/gw/auth/callback']);
    expect(gateway!.representation.attributes).toMatchObject({
      'post.logout.redirect.uris': 'https://pacs.example.org/gw/auth/signed-out',
      'backchannel.logout.url': 'https://pacs.example.org/gw/auth/backchannel-logout',
    });
    expect(gateway!.mappers.map((mapper) => mapper.protocolMapper)).toEqual(['oidc-audience-mapper']);
  });

  it('adds no client scope without SMART clients', () => {
    expect(wanted.clientScopes).toEqual([]);
  });

  it('with SMART clients: the optional patient scope, named in the token scope, mapping patient_id to SMART_PATIENT_CLAIM', () => {
    const [scope, ...others] = wantedState({ ...TARGET, smartClients: ['portal'], patientClaim: 'ext.patient' }).clientScopes;
    expect(others).toEqual([]);
    expect(scope!.representation).toMatchObject({ name: 'patient/ImagingStudy.rs', protocol: 'openid-connect', attributes: { 'include.in.token.scope': 'true' } });
    expect(scope!.optionalOn).toEqual(['portal']);
    expect(scope!.userAttribute).toBe('patient_id');
    expect(scope!.mappers).toEqual([expect.objectContaining({
      protocolMapper: 'oidc-usermodel-attribute-mapper',
      config: expect.objectContaining({ 'user.attribute': 'patient_id', 'claim.name': 'ext.patient', 'access.token.claim': 'true', 'introspection.token.claim': 'true', 'id.token.claim': 'false' }),
    })]);
  });

  it('with an audit client: confidential, the service account only, its audience and AUDIT_FHIR_SCOPE as optional scopes', () => {
    const state = wantedState({ ...TARGET, ohifClientId: undefined, auditClient: { clientId: 'audit-sender', audience: 'fhir-audit', scopes: ['system/AuditEvent.c'] } });
    const audit = state.clients[1]!;
    expect(audit.representation).toMatchObject({
      clientId: 'audit-sender', publicClient: false, serviceAccountsEnabled: true,
      standardFlowEnabled: false, implicitFlowEnabled: false, directAccessGrantsEnabled: false, redirectUris: [], webOrigins: [],
    });
    expect(audit.secretVariable).toBe('AUDIT_FHIR_CLIENT_SECRET');
    expect(audit.mappers).toEqual([expect.objectContaining({ protocolMapper: 'oidc-audience-mapper', config: expect.objectContaining({ 'included.custom.audience': 'fhir-audit', 'access.token.claim': 'true' }) })]);
    expect(state.clientScopes).toEqual([{ representation: { name: 'system/AuditEvent.c', protocol: 'openid-connect', attributes: { 'include.in.token.scope': 'true' } }, mappers: [], optionalOn: ['audit-sender'] }]);
    expect(wantedState({ ...TARGET, auditClient: { clientId: 'audit-sender', audience: undefined, scopes: [] } }).clients.at(-1)!.mappers).toEqual([]);
  });

  it("gives the OHIF client the gateway's origin as its only web origin", () => {
    const ohif = wantedState({ ...TARGET, publicUrl: 'https://pacs.example.org/gw' }).clients[1]!;
    expect(ohif.representation.webOrigins).toEqual(['https://pacs.example.org']);
    expect(ohif.representation.redirectUris).toEqual(['https://pacs.example.org/gw/callback', 'https://pacs.example.org/gw/silent-refresh.html']);
  });
});
