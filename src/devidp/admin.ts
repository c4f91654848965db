/**
 * The dev IdP's counterparts of the Keycloak admin actions the tests use: realm token settings
 * (`PUT /admin/realms/{realm}`), ending a user's sessions (`POST /admin/realms/{realm}/users/{id}/logout`),
 * which sends a back-channel logout token to every client of each session that registered a URL,
 * and disabling a user, which removes their sessions without telling the clients.
 */
import type Provider from 'oidc-provider';
import type { DevRealm } from './realm.js';
import type { MemoryStore } from './store.js';

/** The realm token settings Keycloak's admin API changes at run time (they apply to new tokens). */
export type RealmTokenSettings = Partial<Pick<DevRealm, 'accessTokenLifespan' | 'revokeRefreshToken'>>;

/** oidc-provider's own back-channel logout sender (what its end-session endpoint calls), not in its typings. */
interface BackchannelClient {
  backchannelLogoutUri?: string | undefined;
  backchannelLogout(sub: string, sid: string | undefined): Promise<void>;
}

interface SessionAuthorizations {
  authorizations?: Record<string, { sid?: string; grantId?: string }>;
}

/** `notify: false` removes the sessions silently, as Keycloak does when a user is disabled. */
export async function endUserSessions(provider: Provider, store: MemoryStore, accountId: string, { notify = true } = {}): Promise<void> {
  for (const { id, payload } of store.sessionsOf(accountId)) {
    const authorizations = (payload as SessionAuthorizations).authorizations ?? {};
    for (const [clientId, { sid, grantId }] of Object.entries(authorizations)) {
      const client = (await provider.Client.find(clientId)) as unknown as BackchannelClient | undefined;
      if (notify && client?.backchannelLogoutUri) {
        await client.backchannelLogout(accountId, sid).catch((error: Error) => {
          console.warn(`[dev-idp] back-channel logout to ${clientId} failed: ${error.message}`);
        });
      }
      if (grantId) {
        await store('RefreshToken').revokeByGrantId(grantId);
        await store('Grant').destroy(grantId);
      }
    }
    await store('Session').destroy(id);
  }
}
