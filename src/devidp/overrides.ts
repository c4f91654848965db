/**
 * The realm export names the gateway at http://localhost:8080; tests run it on random ports. These
 * helpers rewrite the clients' URLs without touching the file.
 */
import type { DevClient, DevRealm } from './realm.js';

/** The application origin the realm export is written for (CONTRACT.md `PUBLIC_URL`). */
export const REALM_APP_ORIGIN = 'http://localhost:8080';

export interface ClientOverride {
  /** Replace the client's redirect URIs. */
  redirectUris?: string[];
  /** Add to the client's redirect URIs. */
  extraRedirectUris?: string[];
  postLogoutRedirectUris?: string[];
  webOrigins?: string[];
  /** A URL, or null to register none. */
  backchannelLogoutUri?: string | null;
}

export interface ClientSettings {
  /**
   * Rebase every client URL on `http://localhost:8080` (redirect, post-logout, back-channel logout,
   * web origins) onto this origin, e.g. `http://127.0.0.1:40123`. Applied before `clientOverrides`.
   */
  appOrigin?: string;
  clientOverrides?: Record<string, ClientOverride>;
}

function rebase(uri: string, to: string): string {
  const url = new URL(uri);
  if (url.origin !== REALM_APP_ORIGIN) return uri;
  return new URL(url.pathname + url.search + url.hash, to).href;
}

function rebaseClient(client: DevClient, to: string): DevClient {
  const origin = new URL(to).origin;
  return {
    ...client,
    redirectUris: client.redirectUris.map((u) => rebase(u, origin)),
    postLogoutRedirectUris: client.postLogoutRedirectUris.map((u) => rebase(u, origin)),
    webOrigins: client.webOrigins.map((o) => (o === REALM_APP_ORIGIN ? origin : o)),
    backchannelLogoutUri: client.backchannelLogoutUri && rebase(client.backchannelLogoutUri, origin),
  };
}

function overrideClient(client: DevClient, o: ClientOverride): DevClient {
  const absolute = (uri: string) => new URL(uri).href;
  return {
    ...client,
    redirectUris: [...(o.redirectUris ?? client.redirectUris), ...(o.extraRedirectUris ?? [])].map(absolute),
    postLogoutRedirectUris: (o.postLogoutRedirectUris ?? client.postLogoutRedirectUris).map(absolute),
    webOrigins: (o.webOrigins ?? client.webOrigins).map((origin) => new URL(origin).origin),
    backchannelLogoutUri:
      o.backchannelLogoutUri === undefined ? client.backchannelLogoutUri : (o.backchannelLogoutUri ?? undefined),
  };
}

/** A copy of `realm` with the clients adjusted; unknown client ids in overrides are an error. */
export function applyClientSettings(realm: DevRealm, settings: ClientSettings): DevRealm {
  const overrides = settings.clientOverrides ?? {};
  for (const clientId of Object.keys(overrides)) {
    if (!realm.clients.some((c) => c.clientId === clientId)) {
      throw new Error(`clientOverrides: no client "${clientId}" in realm ${realm.name}`);
    }
  }
  const clients = realm.clients.map((client) => {
    const rebased = settings.appOrigin ? rebaseClient(client, settings.appOrigin) : client;
    const override = overrides[client.clientId];
    return override ? overrideClient(rebased, override) : rebased;
  });
  return { ...realm, clients };
}
