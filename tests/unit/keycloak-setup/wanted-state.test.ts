/**
 * What `npm run keycloak -- setup` puts into a realm stays what realm-export/orthanc-realm.json sets
 * up (the export is what the conformance suite tests), for the export's own PUBLIC_URL.
 */
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { wantedState, type GatewayTarget } from '../../../src/keycloak-setup/wanted-state.js';

interface ExportedClient {
  clientId: string;
  attributes: Record<string, string>;
  protocolMappers: Array<{ name: string; protocolMapper: string; config: Record<string, string> }>;
  [field: string]: unknown;
}
const realmExport = JSON.parse(readFileSync(new URL('../../../realm-export/orthanc-realm.json', import.meta.url), 'utf8')) as {
  clients: ExportedClient[];
  roles: { realm: Array<{ name: string }> };
};
/** The export's `${VAR:default}` placeholders with their defaults (what Keycloak imports without the variable). */
const withDefaults = (value: string) => value.replace(/\$\{[A-Z_]+:([^}]*)\}/g, '$1');

const TARGET: GatewayTarget = {
  publicUrl: 'http://localhost:8080',
  clientId: 'orthanc-gateway',
  audience: 'orthanc-gateway',
  roles: ['pacs-viewer', 'pacs-uploader', 'pacs-admin'],
  groupsMapper: true,
  ohifClientId: 'ohif-viewer',
};
const wanted = wantedState(TARGET);

describe.each(['orthanc-gateway', 'ohif-viewer'])('setup and the realm export agree on client %s', (clientId) => {
  const exported = realmExport.clients.find((client) => client.clientId === clientId)!;
  const setup = wanted.clients.find((client) => client.representation.clientId === clientId)!;

  it('in every field setup sets', () => {
    const { attributes, ...fields } = setup.representation;
    for (const [field, value] of Object.entries(fields)) expect([field, exported[field] ?? (Array.isArray(value) ? [] : undefined)]).toEqual([field, value]);
    const exportedAttributes = Object.fromEntries(Object.entries(exported.attributes).map(([key, value]) => [key, withDefaults(value)]));
    expect(exportedAttributes).toEqual(expect.objectContaining(attributes ?? {}));
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
      'post.logout.redirect.uris': 'https://pacs.example.org/gw/',
      'backchannel.logout.url': 'https://pacs.example.org/gw/auth/backchannel-logout',
    });
    expect(gateway!.mappers.map((mapper) => mapper.protocolMapper)).toEqual(['oidc-audience-mapper']);
  });

  it("gives the OHIF client the gateway's origin as its only web origin", () => {
    const ohif = wantedState({ ...TARGET, publicUrl: 'https://pacs.example.org/gw' }).clients[1]!;
    expect(ohif.representation.webOrigins).toEqual(['https://pacs.example.org']);
    expect(ohif.representation.redirectUris).toEqual(['https://pacs.example.org/gw/callback', 'https://pacs.example.org/gw/silent-refresh.html']);
  });
});
