/**
 * startDevIdp(): the embedded development OpenID provider, an HTTP server that looks like the
 * Keycloak realm of realm-export/ (issuer `http://<host>:<port>/realms/<realm>`). For `npm run dev`
 * and the test suites only; it refuses to start when NODE_ENV=production.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type Provider from 'oidc-provider';
import { endUserSessions, type RealmTokenSettings } from './admin.js';
import { KeyRing } from './keys.js';
import { createLoginRouter } from './login.js';
import { applyClientSettings, type ClientSettings } from './overrides.js';
import { createProvider, ROUTES } from './provider.js';
import { smartPatientScope, type WantedClientScope } from '../keycloak-setup/wanted-state.js';
import { withClientScopes } from './client-scopes.js';
import { findUserByLogin, loadRealm, type DevRealm, type DevUser } from './realm.js';
import { createJwtRevocationRouter } from './revocation.js';
import { createMemoryStore } from './store.js';
import { createUserinfoRouter } from './userinfo.js';

export type { RealmTokenSettings } from './admin.js';
export type { ClientOverride, ClientSettings } from './overrides.js';
export type { DevClient, DevRealm, DevUser } from './realm.js';

export interface DevIdpOptions extends ClientSettings {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
  /** Host name in the issuer URL (e.g. `localhost`); default `host`. */
  publicHost?: string;
  /** Realm export to seed from; default realm-export/orthanc-realm.json. */
  realmFile?: string;
  /**
   * Values of the export's `${VAR:default}` placeholders, as Keycloak takes them from its
   * environment (e.g. gatewayRealmVariables(PUBLIC_URL)); unset ones keep their defaults.
   */
  realmEnv?: Record<string, string | undefined>;
  /**
   * As after `npm run keycloak -- setup --smart-clients …`: these clients get the optional client
   * scope patient/ImagingStudy.rs, mapping the user attribute patient_id to `patientClaim` (default patient).
   */
  smartClients?: string[];
  patientClaim?: string;
  /** Further client scopes as `setup` creates them, e.g. the audit client's (`--audit-scope`). */
  clientScopes?: WantedClientScope[];
}

export interface DevIdp {
  /** `http://<publicHost>:<port>/realms/<realm>`; discovery at `${issuer}/.well-known/openid-configuration`. */
  readonly issuer: string;
  readonly port: number;
  /** `http://<publicHost>:<port>` */
  readonly url: string;
  /** The realm as served, client overrides applied. */
  readonly realm: DevRealm;
  /** kid of the key new tokens are signed with. */
  readonly currentKid: string;
  stop(): Promise<void>;
  /** New signing key first; older keys stay in the JWKS so their tokens still verify. Returns the new kid. */
  rotateKeys(): Promise<string>;
  /** Removes every key but the current one from the JWKS. */
  retireOldKeys(): void;
  /** Replaces the client settings given at start (e.g. once the gateway's port is known). */
  configureClients(settings: ClientSettings): void;
  /** Like Keycloak's admin API (PUT /admin/realms/{realm}): changes token settings for new tokens. */
  updateRealm(settings: RealmTokenSettings): void;
  /**
   * Like Keycloak's admin "sign out" of a user (POST /admin/realms/{realm}/users/{id}/logout): ends
   * the user's sessions and grants and sends back-channel logout to each client that registered it.
   */
  endUserSessions(username: string): Promise<void>;
  /**
   * Like Keycloak's admin `PUT /admin/realms/{realm}/users/{id}` with `enabled`: disabling removes the
   * user's sessions and grants without back-channel logout, so a refresh fails with invalid_grant.
   */
  setUserEnabled(username: string, enabled: boolean): Promise<void>;
  /** Like Keycloak's realm role mappings of a user: tokens issued from now on (refreshes too) carry these roles; sessions go on. */
  setRealmRoles(username: string, roles: string[]): void;
}

export class DevIdpRefusedError extends Error {
  override name = 'DevIdpRefusedError';
}

const BANNER = `
################################################################################
#  DEVELOPMENT IDENTITY PROVIDER: well-known passwords, in-memory state, keys   #
#  regenerated at every start. For local development and tests ONLY. In         #
#  production use Keycloak with realm-export/orthanc-realm.json (new secrets!). #
################################################################################`;

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const fail = (error: NodeJS.ErrnoException) =>
      reject(new Error(`dev IdP cannot listen on ${host}:${port}: ${error.code === 'EADDRINUSE' ? 'port already in use' : error.message}`));
    server.once('error', fail);
    server.listen(port, host, () => {
      server.off('error', fail);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export async function startDevIdp(options: DevIdpOptions = {}): Promise<DevIdp> {
  if (process.env['NODE_ENV'] === 'production') {
    throw new DevIdpRefusedError(
      'The development IdP refuses to start with NODE_ENV=production: use Keycloak (realm-export/orthanc-realm.json).',
    );
  }
  const host = options.host ?? '127.0.0.1';
  const smartClients = options.smartClients ?? [];
  let baseRealm = withClientScopes(
    loadRealm(options.realmFile, options.realmEnv),
    [...(smartClients.length > 0 ? [smartPatientScope(smartClients, options.patientClaim ?? 'patient')] : []), ...(options.clientScopes ?? [])],
  );
  let clientSettings: ClientSettings = options;
  let realm = applyClientSettings(baseRealm, clientSettings);
  const keys = await KeyRing.create();
  const cookieKeys = [randomBytes(32).toString('base64url')];
  const adapter = createMemoryStore();

  const app = express();
  app.disable('x-powered-by');
  const server = createServer(app);
  const port = await listen(server, options.port ?? 0, host);
  const publicHost = options.publicHost ?? host;
  const url = `http://${publicHost.includes(':') ? `[${publicHost}]` : publicHost}:${port}`;
  const basePath = `/realms/${encodeURIComponent(realm.name)}`;
  const issuer = `${url}${basePath}`;

  let provider: Provider;
  let handle: ReturnType<Provider['callback']>;
  /** Builds a provider for `next` and only then switches to it (a bad configuration leaves the old one serving). */
  const rebuild = (next: DevRealm = realm) => {
    const built = createProvider({ issuer, realm: next, keys, cookieKeys, adapter });
    [provider, handle, realm] = [built, built.callback(), next];
  };
  try {
    rebuild();
  } catch (error) {
    server.close();
    throw error;
  }

  const userId = (username: string) => {
    const user = findUserByLogin(realm, username);
    if (!user) throw new Error(`dev IdP: no user ${username}`);
    return user.id;
  };
  const updateUser = (username: string, change: Partial<DevUser>) => {
    const id = userId(username);
    const next = { ...baseRealm, users: baseRealm.users.map((user) => (user.id === id ? { ...user, ...change } : user)) };
    rebuild(applyClientSettings(next, clientSettings));
    baseRealm = next;
  };

  app.get('/', (_req, res) => {
    res.json({ devIdp: true, issuer, discovery: `${issuer}/.well-known/openid-configuration` });
  });
  app.use(`${basePath}/interaction`, createLoginRouter({ provider: () => provider, realm: () => realm }));
  app.use(`${basePath}${ROUTES.userinfo}`, createUserinfoRouter({ issuer, keys, realm: () => realm }));
  app.use(`${basePath}${ROUTES.revocation}`, createJwtRevocationRouter(() => realm));
  app.use(basePath, (req, res) => {
    void handle(req, res);
  });

  console.warn(`${BANNER}\n[dev-idp] issuer ${issuer}`);

  return {
    issuer,
    port,
    url,
    get realm() {
      return realm;
    },
    get currentKid() {
      return keys.current.kid;
    },
    async rotateKeys() {
      const kid = await keys.rotate();
      rebuild();
      return kid;
    },
    retireOldKeys() {
      keys.retireOld();
      rebuild();
    },
    configureClients(settings) {
      rebuild(applyClientSettings(baseRealm, settings));
      clientSettings = settings;
    },
    updateRealm(settings) {
      const next = { ...baseRealm, ...settings };
      rebuild(applyClientSettings(next, clientSettings));
      baseRealm = next;
    },
    async endUserSessions(username) {
      await endUserSessions(provider, adapter, userId(username));
    },
    async setUserEnabled(username, enabled) {
      updateUser(username, { enabled });
      if (!enabled) await endUserSessions(provider, adapter, userId(username), { notify: false });
    },
    setRealmRoles(username, roles) {
      const unknown = roles.filter((role) => !realm.roles.includes(role));
      if (unknown.length > 0) throw new Error(`dev IdP: no realm role ${unknown.join(', ')}`);
      updateUser(username, { realmRoles: roles });
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
