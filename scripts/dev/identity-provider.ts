/**
 * The identity provider of `npm run dev`: the dev IdP (default) or, with `--keycloak` /
 * DEV_IDP=keycloak, the real Keycloak the tests run (scripts/keycloak.mjs) with the same realm,
 * users, port and issuer `http://localhost:<DEV_IDP_PORT>/realms/orthanc`.
 */
import KcAdminClient from '@keycloak/keycloak-admin-client';
import { startDevIdp, type DevRealm } from '../../src/devidp/server.js';
import { applySetup } from '../../src/keycloak-setup/apply.js';
import { smartPatientScope } from '../../src/keycloak-setup/wanted-state.js';
import { gatewayRealmVariables } from '../../src/devidp/placeholders.js';
import { loadRealm } from '../../src/devidp/realm.js';
import { startKeycloak, KEYCLOAK_VERSION } from '../../tests/support/keycloak.js';

export interface DevIdentityProvider {
  /** What the banner calls it. */
  label: string;
  issuer: string;
  /** The realm as imported (users for the banner, the gateway client's secret). */
  realm: DevRealm;
  stop(): Promise<void>;
}

export type DevIdentityProviderKind = 'dev-idp' | 'keycloak';

export function identityProviderKind(argv: string[], env: NodeJS.ProcessEnv): DevIdentityProviderKind {
  if (argv.includes('--keycloak')) return 'keycloak';
  const chosen = env['DEV_IDP'] ?? 'dev-idp';
  if (chosen !== 'dev-idp' && chosen !== 'keycloak') throw new Error(`DEV_IDP must be dev-idp or keycloak, not "${chosen}"`);
  return chosen;
}

/** `smartClients` (SMART_CLIENTS) get the SMART patient scope, as `npm run keycloak -- setup --smart-clients` gives it. */
export async function startDevIdentityProvider(kind: DevIdentityProviderKind, port: number, publicUrl: string, smartClients: string[] = [], patientClaim = 'patient'): Promise<DevIdentityProvider> {
  // Both providers read the realm export's placeholders from the same variables: the gateway's URLs.
  const realmEnv = gatewayRealmVariables(publicUrl);
  if (kind === 'dev-idp') {
    const idp = await startDevIdp({ port, host: '127.0.0.1', publicHost: 'localhost', realmEnv, smartClients, patientClaim });
    return { label: 'dev IdP', issuer: idp.issuer, realm: idp.realm, stop: () => idp.stop() };
  }
  const realm = loadRealm(undefined, realmEnv); // as Keycloak imports it with the same variables
  const gatewayClient = realm.clients.find((client) => client.clientId === 'orthanc-gateway');
  console.log(`[dev] starting Keycloak ${KEYCLOAK_VERSION} (takes 20-90 s)…`);
  const keycloak = await startKeycloak({
    httpPort: port,
    hostname: `http://localhost:${port}`,
    // The secret too: Keycloak inherits this process's environment, where OIDC_CLIENT_SECRET may be set.
    env: { ...realmEnv, OIDC_CLIENT_SECRET: gatewayClient?.secret ?? '' },
  });
  if (smartClients.length > 0) {
    try {
      const admin = new KcAdminClient({ baseUrl: keycloak.url, realmName: 'orthanc' });
      admin.registerTokenProvider({ getAccessToken: () => keycloak.adminToken() });
      await applySetup(admin, { roles: [], clients: [], clientScopes: [smartPatientScope(smartClients, patientClaim)] });
    } catch (error) {
      await keycloak.stop();
      throw error;
    }
  }
  return {
    label: `Keycloak ${KEYCLOAK_VERSION} (admin console ${keycloak.url}/admin, ${keycloak.adminUsername} / ${keycloak.adminPassword})`,
    issuer: keycloak.issuer,
    realm,
    stop: () => keycloak.stop(),
  };
}
