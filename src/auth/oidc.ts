import { compactVerify } from 'jose';
import * as client from 'openid-client';
import type { Config } from '../config/config.js';
import { ACCEPTED_ALGORITHMS, CLOCK_TOLERANCE_SECONDS } from './bearer.js';
import { IssuerUnavailableError, type IssuerMetadataSource } from './issuer.js';
import type { IssuerKeys } from './issuer-keys.js';
import { SIGNED_OUT_PATH } from './signed-out.js';

/** What the gateway keeps, server-side, between /auth/login and /auth/callback. */
export interface LoginTransaction {
  state: string;
  nonce: string;
  codeVerifier: string;
  returnTo: string;
  createdAt: number;
}

export interface TokenSet {
  accessToken: string;
  refreshToken: string | undefined;
  idToken: string | undefined;
  /** Access token expiry, milliseconds since the epoch. */
  accessExpiresAt: number;
  /** The access token's lifetime as issued, in milliseconds. */
  lifetimeMs: number;
}

/** Thrown for anything the IdP or the authorization response got wrong; `status` is what the user sees. */
export class LoginError extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'LoginError';
  }
}

/**
 * The IdP could not be reached (connection refused, timeout) or answered with a server error,
 * somewhere in the cause chain (openid-client wraps fetch failures; names, not classes, are
 * compared, as fetch's errors may come from another realm).
 */
function idpUnreachable(error: unknown): boolean {
  let current = error;
  for (let depth = 0; current && depth < 5; depth++) {
    if (current instanceof IssuerUnavailableError) return true;
    const { name, message, code, status } = current as { name?: unknown; message?: unknown; code?: unknown; status?: unknown };
    if (name === 'TypeError' && message === 'fetch failed') return true;
    if (name === 'TimeoutError' || code === 'OAUTH_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return true;
    if (typeof status === 'number' && status >= 500) return true; // the IdP's HTTP response
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

function toTokenSet(response: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers, previous?: TokenSet): TokenSet {
  const expiresIn = response.expiresIn() ?? 60;
  return {
    accessToken: response.access_token,
    refreshToken: response.refresh_token ?? previous?.refreshToken,
    idToken: response.id_token ?? previous?.idToken,
    accessExpiresAt: Date.now() + expiresIn * 1000,
    lifetimeMs: expiresIn * 1000,
  };
}

/**
 * The gateway as an OpenID relying party (openid-client): authorization code + PKCE S256, state,
 * nonce, ID token claims (openid-client) and signature (the gateway's issuer key set, see below),
 * RFC 9207 `iss` checked when the provider advertises it, refresh, and RP-initiated logout.
 */
export function createOidcClient(config: Config, metadata: IssuerMetadataSource, keys: IssuerKeys) {
  const redirectUri = `${config.publicUrl}/auth/callback`;
  const postLogoutRedirectUri = `${config.publicUrl}${SIGNED_OUT_PATH}`;
  let configuration: client.Configuration | undefined;

  /**
   * ID token signatures are checked with the same key set as access and logout tokens, not with
   * openid-client's own JWKS copy (enableNonRepudiationChecks), which re-reads the JWKS for an
   * unknown `kid` only once its copy is 60 s old: after a key rotation, sign-ins would fail for up
   * to a minute. Here a new key is accepted on first sight (JWKS_CACHE_SECONDS, README).
   */
  async function checkIdTokenSignature(idToken: string | undefined): Promise<void> {
    if (idToken) await compactVerify(idToken, await keys.get(), { algorithms: ACCEPTED_ALGORITHMS });
  }

  /**
   * What openid-client leaves to the relying party: it compares `azp` only when `aud` has several
   * entries, and never looks at an `iat` in the future. An ID token another client asked for, or
   * one dated ahead (a forged or pre-minted token, a broken IdP clock), does not sign anyone in.
   */
  function checkIdTokenClaims(claims: client.IDToken | undefined): void {
    if (!claims) return;
    if (claims.azp !== undefined && claims.azp !== config.oidc.clientId) throw new Error('the ID token was issued to another client (azp)');
    if (claims.iat > Math.floor(Date.now() / 1000) + CLOCK_TOLERANCE_SECONDS) throw new Error('the ID token is issued in the future (iat)');
  }

  async function rp(): Promise<client.Configuration> {
    if (configuration) return configuration;
    const server = (await metadata.get()) as client.ServerMetadata;
    const built = new client.Configuration(server, config.oidc.clientId, config.oidc.clientSecret);
    if (!config.oidc.discoveryUrl.startsWith('https:') || !config.oidc.issuer.startsWith('https:')) {
      client.allowInsecureRequests(built); // http:// issuers: development and docker-compose only
    }
    configuration = built;
    return built;
  }

  return {
    redirectUri,

    /** Rejects with IssuerUnavailableError when the IdP does not answer now (no browser is sent to a dead IdP). */
    async startLogin(returnTo: string): Promise<{ url: URL; transaction: LoginTransaction }> {
      await metadata.probe();
      const transaction: LoginTransaction = {
        state: client.randomState(),
        nonce: client.randomNonce(),
        codeVerifier: client.randomPKCECodeVerifier(),
        returnTo,
        createdAt: Date.now(),
      };
      const url = client.buildAuthorizationUrl(await rp(), {
        redirect_uri: redirectUri,
        scope: config.oidc.scopes.join(' '),
        response_type: 'code',
        code_challenge: await client.calculatePKCECodeChallenge(transaction.codeVerifier),
        code_challenge_method: 'S256',
        state: transaction.state,
        nonce: transaction.nonce,
      });
      return { url, transaction };
    },

    /** `callbackUrl` is PUBLIC_URL + the request's path and query (never built from the Host header). */
    async completeLogin(callbackUrl: URL, transaction: LoginTransaction): Promise<{ tokens: TokenSet; sid: string | undefined }> {
      try {
        const response = await client.authorizationCodeGrant(await rp(), callbackUrl, {
          pkceCodeVerifier: transaction.codeVerifier,
          expectedState: transaction.state,
          expectedNonce: transaction.nonce,
          idTokenExpected: true,
        });
        await checkIdTokenSignature(response.id_token);
        checkIdTokenClaims(response.claims());
        const sid = response.claims()?.['sid'];
        return { tokens: toTokenSet(response), sid: typeof sid === 'string' ? sid : undefined };
      } catch (error) {
        if (idpUnreachable(error)) throw new LoginError('The identity provider cannot be reached to complete the sign-in. Please sign in again in a few minutes.', 503);
        throw new LoginError(`Sign-in could not be completed: ${(error as Error).message}`);
      }
    },

    async refresh(tokens: TokenSet): Promise<TokenSet> {
      if (!tokens.refreshToken) throw new LoginError('No refresh token', 401);
      const response = await client.refreshTokenGrant(await rp(), tokens.refreshToken);
      await checkIdTokenSignature(response.id_token);
      checkIdTokenClaims(response.claims());
      return toTokenSet(response, tokens);
    },

    /** RFC 7662 introspection of an access token, authenticated with the gateway's client credentials. */
    async introspect(token: string): Promise<client.IntrospectionResponse> {
      return client.tokenIntrospection(await rp(), token, { token_type_hint: 'access_token' });
    },

    async endSessionUrl(idToken: string | undefined): Promise<string> {
      const configurationNow = await rp();
      if (!configurationNow.serverMetadata().end_session_endpoint) return postLogoutRedirectUri;
      const parameters: Record<string, string> = { post_logout_redirect_uri: postLogoutRedirectUri, client_id: config.oidc.clientId };
      if (idToken) parameters['id_token_hint'] = idToken;
      return client.buildEndSessionUrl(configurationNow, parameters).href;
    },
  };
}

export type OidcClient = ReturnType<typeof createOidcClient>;
