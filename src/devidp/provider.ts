/**
 * oidc-provider configured to behave like the Keycloak realm it is seeded from: code flow with PKCE
 * S256 for every client, JWT access tokens (RS256, kid) carrying Keycloak's claims, refresh tokens,
 * RP-initiated logout, back-channel logout, CORS for the clients' web origins, client credentials
 * for clients with a service account. No password grant
 * (oidc-provider has none), no dev interactions (login.ts renders the login page).
 */
import Provider, {
  errors,
  type AdapterFactory,
  type ClientMetadata,
  type Configuration,
  type KoaContextWithOIDC,
} from 'oidc-provider';
import { accessTokenAudience, accessTokenClaims, idTokenClaims, SCOPE_CLAIMS, serviceAccountClaims } from './claims.js';
import { grantedScopeClaims, optionalScopesOf } from './client-scopes.js';
import { renderLogoutConfirm, renderMessagePage } from './pages.js';
import { findClient, findUserById, type DevClient, type DevRealm } from './realm.js';
import type { KeyRing } from './keys.js';
import { revocationAnswerWithoutContentType } from './revocation.js';

/**
 * Keycloak has no resource indicators: every access token is for the audiences of the client's
 * audience mappers. Internally oidc-provider needs one resource indicator to issue JWT access tokens.
 */
export const DEFAULT_RESOURCE = 'urn:orthanc-oidc-gateway:dev-idp';
const RESOURCE_SCOPES = 'openid profile email offline_access';

/** Keycloak's endpoint paths under the issuer. */
export const ROUTES = {
  authorization: '/protocol/openid-connect/auth',
  token: '/protocol/openid-connect/token',
  jwks: '/protocol/openid-connect/certs',
  end_session: '/protocol/openid-connect/logout',
  revocation: '/protocol/openid-connect/revoke',
  userinfo: '/protocol/openid-connect/userinfo',
  introspection: '/protocol/openid-connect/token/introspect',
  pushed_authorization_request: '/protocol/openid-connect/ext/par/request',
} as const;

export interface ProviderOptions {
  issuer: string;
  realm: DevRealm;
  keys: KeyRing;
  cookieKeys: string[];
  adapter: AdapterFactory;
}

/** Keycloak answers invalid_scope to a client asking for a realm client scope that is not one of its own. */
function clientMetadata(client: DevClient, optionalScopes: string[]): ClientMetadata {
  return {
    client_id: client.clientId,
    scope: [RESOURCE_SCOPES, ...optionalScopes].join(' '),
    ...(client.public
      ? { token_endpoint_auth_method: 'none' }
      : { client_secret: client.secret, token_endpoint_auth_method: 'client_secret_basic' }),
    grant_types: [...(client.standardFlow ? ['authorization_code', 'refresh_token'] : []), ...(client.serviceAccount ? ['client_credentials'] : [])],
    response_types: client.standardFlow ? ['code'] : [],
    redirect_uris: client.standardFlow ? client.redirectUris : [],
    post_logout_redirect_uris: client.postLogoutRedirectUris,
    ...(client.backchannelLogoutUri
      ? {
          backchannel_logout_uri: client.backchannelLogoutUri,
          backchannel_logout_session_required: client.backchannelLogoutSessionRequired,
        }
      : {}),
  };
}

interface SessionBound {
  sid?: string | undefined;
  sessionUid?: string | undefined;
  clientId?: string | undefined;
}

/**
 * Keycloak puts `sid` in every token; oidc-provider only records it for clients that registered
 * back-channel logout. Read the same per-client value from the session for the others.
 */
async function sidOf(ctx: KoaContextWithOIDC, token: SessionBound | undefined): Promise<string | undefined> {
  if (token?.sid) return token.sid;
  if (!token?.sessionUid || !token.clientId) return undefined;
  const session = await ctx.oidc.provider.Session.findByUid(token.sessionUid);
  return session?.authorizations?.[token.clientId]?.sid;
}

/** Keycloak's `auth_time` (its `basic` scope) in access tokens too, refreshed ones included: when the session signed in. */
async function authTimeOf(ctx: KoaContextWithOIDC, token: SessionBound | undefined): Promise<number | undefined> {
  if (!token?.sessionUid) return undefined;
  const session = await ctx.oidc.provider.Session.findByUid(token.sessionUid);
  return session?.authTime();
}

/** Outgoing calls (back-channel logout) go to the gateway on localhost: let them through oidc-provider's SSRF guard. */
function fetchAllowingLoopback(input: string | URL | Request, init?: RequestInit): Promise<Response> {
  const { dispatcher: _ssrfGuard, ...rest } = (init ?? {}) as RequestInit & { dispatcher?: unknown };
  return fetch(input, rest);
}

export function createProvider({ issuer, realm, keys, cookieKeys, adapter }: ProviderOptions): Provider {
  const basePath = new URL(issuer).pathname.replace(/\/$/, '');
  const clientOf = (clientId: string | undefined) => (clientId ? findClient(realm, clientId) : undefined);
  const ttl = (seconds: number) => () => seconds;

  const configuration: Configuration = {
    adapter,
    clients: realm.clients.map((client) => clientMetadata(client, optionalScopesOf(realm, client.clientId))),
    jwks: keys.privateJwks,
    // Browsers share cookies across ports: keep the IdP's names and path apart from the gateway's on the same host.
    cookies: {
      keys: cookieKeys,
      names: { session: 'DEV_IDP_SESSION', interaction: 'DEV_IDP_INTERACTION', resume: 'DEV_IDP_RESUME' },
      long: { httpOnly: true, sameSite: 'lax', path: `${basePath}/` },
    },
    routes: ROUTES,
    responseTypes: ['code'],
    scopes: ['openid', 'offline_access', 'profile', 'email', ...realm.clientScopes.map((scope) => scope.name)],
    claims: { ...SCOPE_CLAIMS, acr: null, auth_time: null, iss: null },
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true },
      // userinfo.ts serves Keycloak's userinfo: oidc-provider's refuses access tokens that have an audience.
      userinfo: { enabled: false },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: renderLogoutConfirm,
        postLogoutSuccessSource: (ctx) => renderMessagePage(ctx, 'Signed out', 'You have been signed out.'),
      },
      backchannelLogout: { enabled: true },
      // Keycloak's service accounts.
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => DEFAULT_RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, indicator, client) => {
          const dev = clientOf(client.clientId);
          if (indicator !== DEFAULT_RESOURCE || !dev) throw new errors.InvalidTarget();
          // oidc-provider needs one audience here; the jwt customizer below writes Keycloak's.
          const [audience = dev.clientId] = [accessTokenAudience(dev) ?? []].flat();
          // A client's optional scopes are granted when asked for; another client's are not (Keycloak drops them).
          return {
            scope: [RESOURCE_SCOPES, ...optionalScopesOf(realm, dev.clientId)].join(' '),
            audience,
            accessTokenFormat: 'jwt',
            accessTokenTTL: realm.accessTokenLifespan,
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    // Keycloak's revokeRefreshToken: each refresh token is good for one refresh; else it stays valid.
    rotateRefreshToken: () => realm.revokeRefreshToken,
    async extraTokenClaims(ctx, token) {
      if (token.kind === 'ClientCredentials') {
        const client = clientOf(token.clientId);
        return client && serviceAccountClaims(client);
      }
      if (token.kind !== 'AccessToken') return undefined;
      const user = token.accountId ? findUserById(realm, token.accountId) : undefined;
      const client = clientOf(token.clientId);
      if (!user || !client) return undefined;
      return {
        ...accessTokenClaims(user, client, await sidOf(ctx, token), await authTimeOf(ctx, token)),
        ...grantedScopeClaims(realm, client.clientId, token.scope ?? '', user),
      };
    },
    formats: {
      customizers: {
        // Keycloak's header is typ "JWT", its aud lists every mapped audience (none without a mapper), it has no client_id.
        jwt(_ctx, token, parts) {
          parts.header = { ...parts.header, typ: 'JWT' };
          const client = clientOf(token.clientId);
          // Keycloak leaves aud out; oidc-provider refuses a JWT access token without a (truthy) aud: an empty list says the same.
          parts.payload['aud'] = (client && accessTokenAudience(client)) ?? [];
          delete parts.payload['client_id'];
          const hidden = new Set(realm.clientScopes.filter((scope) => !scope.inTokenScope).map((scope) => scope.name));
          if (hidden.size > 0 && typeof parts.payload['scope'] === 'string') {
            parts.payload['scope'] = parts.payload['scope'].split(' ').filter((name) => !hidden.has(name)).join(' ');
          }
        },
      },
    },
    async findAccount(ctx, sub, token) {
      const user = findUserById(realm, sub);
      if (!user?.enabled) return undefined;
      return {
        accountId: user.id,
        claims: async () => idTokenClaims(user, ctx.oidc.client?.clientId, await sidOf(ctx, token)),
      };
    },
    clientBasedCORS: (_ctx, origin, client) => clientOf(client.clientId)?.webOrigins.includes(origin) ?? false,
    interactions: { url: (_ctx, interaction) => `${basePath}/interaction/${interaction.uid}` },
    discovery: { userinfo_endpoint: `${issuer}${ROUTES.userinfo}` },
    fetch: fetchAllowingLoopback,
    renderError: (ctx, out) =>
      renderMessagePage(ctx, 'Error', `${out.error}${out.error_description ? `: ${out.error_description}` : ''}`),
    ttl: {
      AccessToken: ttl(realm.accessTokenLifespan),
      ClientCredentials: ttl(realm.accessTokenLifespan),
      IdToken: ttl(realm.accessTokenLifespan),
      AuthorizationCode: ttl(60),
      RefreshToken: ttl(realm.ssoSessionIdleTimeout),
      Interaction: ttl(1800),
      Session: ttl(realm.ssoSessionMaxLifespan),
      Grant: ttl(realm.ssoSessionMaxLifespan),
    },
  };

  const provider = new Provider(issuer, configuration);
  provider.use(revocationAnswerWithoutContentType);
  provider.on('backchannel.error', (_ctx, error, client) => {
    console.warn(`[dev-idp] back-channel logout to ${client.clientId} failed: ${(error as Error).message}`);
  });
  provider.on('server_error', (_ctx, error) => console.error('[dev-idp] server error', error));
  return provider;
}
