/**
 * The dev IdP reads Keycloak's service accounts from the realm export: a confidential client with
 * `serviceAccountsEnabled` gets tokens for itself (client credentials), even without the standard
 * flow; a public client cannot have one (Keycloak refuses it too).
 */
import { describe, expect, it } from '@jest/globals';
import { serviceAccountClaims } from '../../../src/devidp/claims.js';
import { parseRealm } from '../../../src/devidp/realm.js';

const realmWithClient = (client: Record<string, unknown>) => parseRealm({ realm: 'orthanc', clients: [{ clientId: 'audit-sender', ...client }] });

describe('service accounts', () => {
  it.each([
    { case: 'service account only', client: { secret: 's', standardFlowEnabled: false, serviceAccountsEnabled: true }, expected: { standardFlow: false, serviceAccount: true } },
    { case: 'standard flow only (the default)', client: { secret: 's', redirectUris: ['http://localhost/cb'] }, expected: { standardFlow: true, serviceAccount: false } },
    { case: 'both', client: { secret: 's', redirectUris: ['http://localhost/cb'], serviceAccountsEnabled: true }, expected: { standardFlow: true, serviceAccount: true } },
  ])('keeps a client with $case', ({ client, expected }) => {
    expect(realmWithClient(client).clients).toEqual([expect.objectContaining({ clientId: 'audit-sender', ...expected })]);
  });

  it('leaves out a client with neither the standard flow nor a service account', () => {
    expect(realmWithClient({ secret: 's', standardFlowEnabled: false }).clients).toEqual([]);
  });

  it('refuses a public client with a service account', () => {
    expect(() => realmWithClient({ publicClient: true, serviceAccountsEnabled: true })).toThrow(/public client cannot have a service account/);
  });

  it("shapes the service account's token claims as Keycloak's (azp, service-account-<client>)", () => {
    const [client] = realmWithClient({ secret: 's', standardFlowEnabled: false, serviceAccountsEnabled: true }).clients;
    expect(serviceAccountClaims(client!)).toEqual({ typ: 'Bearer', azp: 'audit-sender', preferred_username: 'service-account-audit-sender', acr: '1' });
  });
});
