import KcAdminClient from '@keycloak/keycloak-admin-client';

/** How to authenticate at Keycloak's admin API: an admin user, or a service-account client with realm-management roles. */
export type AdminCredentials =
  | { kind: 'user'; username: string; password: string; realm: string; clientId: string }
  | { kind: 'client'; clientId: string; clientSecret: string; realm: string };

export type AdminClient = KcAdminClient;

/** An authenticated admin client whose requests go to `realm` (the realm being set up or checked). */
export async function connectAdmin(url: string, realm: string, credentials: AdminCredentials): Promise<AdminClient> {
  const admin = new KcAdminClient({ baseUrl: url, realmName: credentials.realm });
  await admin.auth(
    credentials.kind === 'user'
      ? { grantType: 'password', clientId: credentials.clientId, username: credentials.username, password: credentials.password }
      : { grantType: 'client_credentials', clientId: credentials.clientId, clientSecret: credentials.clientSecret },
  );
  admin.setConfig({ realmName: realm });
  return admin;
}
