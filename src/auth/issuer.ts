/**
 * The identity provider's discovery document. Fetched lazily (the gateway may start before the IdP),
 * cached once it succeeds, retried after a short pause when it fails.
 *
 * In docker-compose the browser reaches Keycloak at http://localhost:8081 while the gateway reaches
 * it as http://keycloak:8080: the tokens' `iss` is the former (OIDC_ISSUER), the gateway fetches from
 * the latter (OIDC_DISCOVERY_URL), and the back-channel endpoint URLs the document names under the
 * issuer are rewritten to the discovery base so the gateway can call them.
 */
export interface IssuerMetadata {
  issuer: string;
  jwks_uri: string;
  [key: string]: unknown;
}

export class IssuerUnavailableError extends Error {
  override name = 'IssuerUnavailableError';
}

export class IssuerMismatchError extends Error {
  override name = 'IssuerMismatchError';
}

export interface IssuerMetadataSource {
  get(): Promise<IssuerMetadata>;
  /**
   * Resolves when the IdP answers right now (a fresh discovery request, at most one per few seconds),
   * else rejects with IssuerUnavailableError: sign-in checks it before sending a browser there.
   */
  probe(): Promise<void>;
}

interface Options {
  issuer: string;
  discoveryUrl: string;
  timeoutMs?: number;
  retryPauseMs?: number;
  /** A successful probe is trusted for this long (default 5 s). */
  probeIntervalMs?: number;
}

const withoutTrailingSlash = (url: string) => url.replace(/\/+$/, '');

/** Endpoints the browser visits keep the public issuer host; the others are called by the gateway. */
const BROWSER_ENDPOINTS = new Set(['authorization_endpoint', 'end_session_endpoint', 'check_session_iframe']);

function rebaseEndpoints(metadata: IssuerMetadata, issuerBase: string, discoveryBase: string): IssuerMetadata {
  if (issuerBase === discoveryBase) return metadata;
  const isBackChannel = (key: string) => key === 'jwks_uri' || (key.endsWith('_endpoint') && !BROWSER_ENDPOINTS.has(key));
  const rebase = (value: unknown, key: string) =>
    isBackChannel(key) && typeof value === 'string' && value.startsWith(`${issuerBase}/`)
      ? discoveryBase + value.slice(issuerBase.length)
      : value;
  return Object.fromEntries(Object.entries(metadata).map(([key, value]) => [key, rebase(value, key)])) as IssuerMetadata;
}

export async function fetchIssuerMetadata({ issuer, discoveryUrl, timeoutMs = 5000 }: Options): Promise<IssuerMetadata> {
  const issuerBase = withoutTrailingSlash(issuer);
  const discoveryBase = withoutTrailingSlash(discoveryUrl);
  const url = `${discoveryBase}/.well-known/openid-configuration`;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
  } catch (error) {
    throw new IssuerUnavailableError(`identity provider discovery at ${url} failed: ${(error as Error).message}`);
  }
  if (!response.ok) throw new IssuerUnavailableError(`identity provider discovery at ${url} answered HTTP ${response.status}`);
  const metadata = (await response.json().catch(() => undefined)) as Partial<IssuerMetadata> | undefined;
  if (!metadata || typeof metadata.jwks_uri !== 'string' || typeof metadata.issuer !== 'string') {
    throw new IssuerUnavailableError(`identity provider discovery at ${url} is not an OpenID configuration`);
  }
  if (metadata.issuer !== issuer) {
    throw new IssuerMismatchError(
      `identity provider discovery at ${url} reports issuer "${metadata.issuer}" but OIDC_ISSUER is "${issuer}"`,
    );
  }
  return rebaseEndpoints(metadata as IssuerMetadata, issuerBase, discoveryBase);
}

export function createIssuerMetadataSource(options: Options): IssuerMetadataSource {
  const retryPauseMs = options.retryPauseMs ?? 2000;
  let cached: IssuerMetadata | undefined;
  let inFlight: Promise<IssuerMetadata> | undefined;
  let lastFailure: { at: number; error: Error } | undefined;
  let probedAt = -Infinity;
  let probing: Promise<void> | undefined;

  const source: IssuerMetadataSource = {
    async probe() {
      if (!cached) {
        await source.get();
        probedAt = Date.now();
        return;
      }
      if (Date.now() - probedAt < (options.probeIntervalMs ?? 5000)) return;
      probing ??= fetchIssuerMetadata({ ...options, timeoutMs: Math.min(options.timeoutMs ?? 3000, 3000) })
        .then(() => {
          probedAt = Date.now();
        })
        .finally(() => (probing = undefined));
      return probing;
    },
    async get() {
      if (cached) return cached;
      if (lastFailure && Date.now() - lastFailure.at < retryPauseMs) throw lastFailure.error;
      inFlight ??= fetchIssuerMetadata(options)
        .then((metadata) => (cached = metadata))
        .catch((error: Error) => {
          lastFailure = { at: Date.now(), error };
          throw error;
        })
        .finally(() => (inFlight = undefined));
      return inFlight;
    },
  };
  return source;
}
