import * as client from 'openid-client';
import type { FhirOAuthConfig } from '../config/config.js';
import type { IssuerMetadataSource } from '../auth/issuer.js';

/** The access token the FHIR audit transport sends, from the OAuth 2.0 client credentials grant. */
export interface AuditTokenSource {
  /** A cached token, or a new one (concurrent callers share one request to the token endpoint). */
  get(): Promise<string>;
  /** The FHIR server refused `token` (401): the next get() fetches another. */
  drop(token: string): void;
}

/** A token fetch failed: the message says why, in the IdP's words, never with the secret or a token. */
export class AuditTokenError extends Error {
  override name = 'AuditTokenError';
  /** The token endpoint's OAuth error code (invalid_client, invalid_scope…); undefined when it gave none (no answer). */
  constructor(message: string, readonly oauthError?: string) {
    super(message);
  }
}

export interface AuditTokenOptions extends FhirOAuthConfig {
  /** The gateway's issuer: its discovery document (already fetched for sign-in) names the default token endpoint. */
  metadata: IssuerMetadataSource;
  issuer: string;
  timeoutMs: number;
}

/** Renewed this long before `expires_in` ends (at most half the lifetime), so no POST carries an expiring token. */
const RENEW_BEFORE_MS = 30_000;
/** A token endpoint that names no lifetime: reuse for a minute, as for user tokens (src/auth/oidc.ts). */
const DEFAULT_LIFETIME_SECONDS = 60;

async function serverMetadata({ metadata, issuer, tokenUrl }: AuditTokenOptions): Promise<client.ServerMetadata> {
  if (tokenUrl) return { issuer, token_endpoint: tokenUrl };
  return (await metadata.get()) as client.ServerMetadata;
}

/**
 * The IdP's own words (invalid_client, unauthorized_client…), or the network failure down its cause
 * chain (openid-client says "something went wrong", fetch "fetch failed", the socket ECONNREFUSED).
 */
function describe(error: unknown): string {
  if (error instanceof client.ResponseBodyError) return `${error.error}${error.error_description ? `: ${error.error_description}` : ''} (HTTP ${error.status})`;
  const reasons: string[] = [];
  // Names, not classes: fetch's errors may come from another realm.
  for (let current = error as { message?: unknown; code?: unknown; cause?: unknown } | undefined, depth = 0; current && depth < 5; current = current.cause as typeof current, depth++) {
    const reason = [current.message, current.code].filter((part) => typeof part === 'string' && part).join(' ');
    if (reason) reasons.push(reason);
  }
  return reasons.join(': ') || String(error);
}

export function createAuditTokenSource(options: AuditTokenOptions): AuditTokenSource {
  let configuration: client.Configuration | undefined;
  let cached: { token: string; renewAt: number } | undefined;
  let inFlight: Promise<string> | undefined;

  async function rp(): Promise<client.Configuration> {
    if (configuration) return configuration;
    const built = new client.Configuration(await serverMetadata(options), options.clientId, options.clientSecret);
    built.timeout = Math.ceil(options.timeoutMs / 1000);
    if (!built.serverMetadata().token_endpoint?.startsWith('https:')) client.allowInsecureRequests(built); // http:// IdPs: development only
    configuration = built;
    return built;
  }

  async function fetchToken(): Promise<string> {
    let response: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers;
    try {
      response = await client.clientCredentialsGrant(await rp(), options.scope ? { scope: options.scope } : {});
    } catch (error) {
      throw new AuditTokenError(`no access token for the FHIR audit server (client ${options.clientId}): ${describe(error)}`, error instanceof client.ResponseBodyError ? error.error : undefined);
    }
    const lifetimeMs = (response.expiresIn() ?? DEFAULT_LIFETIME_SECONDS) * 1000;
    cached = { token: response.access_token, renewAt: Date.now() + lifetimeMs - Math.min(RENEW_BEFORE_MS, lifetimeMs / 2) };
    return response.access_token;
  }

  return {
    async get() {
      if (cached && Date.now() < cached.renewAt) return cached.token;
      inFlight ??= fetchToken().finally(() => (inFlight = undefined));
      return inFlight;
    },
    drop(token) {
      if (cached?.token === token) cached = undefined;
    },
  };
}
