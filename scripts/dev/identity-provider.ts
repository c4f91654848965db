/**
 * The identity provider of `npm run dev`: the dev IdP (default) or, with `--keycloak` /
 * DEV_IDP=keycloak, the real Keycloak the tests run (scripts/keycloak.mjs) with the same realm,
 * users, port and issuer `http://localhost:<DEV_IDP_PORT>/realms/orthanc`.
 */
import { startDevIdp, type DevRealm } from '../../src/devidp/server.js';
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

export async function startDevIdentityProvider(kind: DevIdentityProviderKind, port: number, publicUrl: string): Promise<DevIdentityProvider> {
  if (kind === 'dev-idp') {
    const idp = await startDevIdp({ port, host: '127.0.0.1', publicHost: 'localhost', appOrigin: publicUrl });
    return { label: 'dev IdP', issuer: idp.issuer, realm: idp.realm, stop: () => idp.stop() };
  }
  const realm = loadRealm(); // placeholders at their defaults, as Keycloak imports them with the env below
  const gatewayClient = realm.clients.find((client) => client.clientId === 'orthanc-gateway');
  console.log(`[dev] starting Keycloak ${KEYCLOAK_VERSION} (takes 20-90 s)…`);
  const keycloak = await startKeycloak({
    httpPort: port,
    hostname: `http://localhost:${port}`,
    env: {
      OIDC_CLIENT_SECRET: gatewayClient?.secret ?? '',
      GATEWAY_BACKCHANNEL_LOGOUT_URL: `${publicUrl}/auth/backchannel-logout`,
    },
  });
  return {
    label: `Keycloak ${KEYCLOAK_VERSION} (admin console ${keycloak.url}/admin, ${keycloak.adminUsername} / ${keycloak.adminPassword})`,
    issuer: keycloak.issuer,
    realm,
    stop: () => keycloak.stop(),
  };
}
