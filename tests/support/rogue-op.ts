import { createHash, randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

/**
 * A hostile (or broken) OpenID provider for relying-party tests in the spirit of the OpenID RP
 * certification: discovery, JWKS and a token endpoint over real HTTP, where each authorization
 * request gets the token response the test scripts (bad ID token signature, wrong nonce, missing
 * sub, ID token as access token…). The authorization step itself is skipped: the test reads the
 * gateway's authorization URL and sends the browser straight to the callback with a code.
 *
 * The token endpoint still behaves like a correct provider towards the client: codes are single
 * use, bound to the redirect_uri, and to the PKCE S256 challenge of their authorization request.
 */
export interface RogueKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export interface SignOptions {
  key?: RogueKey;
  /** Header overrides (alg, kid, crit, …). */
  header?: Record<string, unknown>;
  noKid?: boolean;
}

export interface TokenContext {
  issuer: string;
  clientId: string;
  /** The nonce of the authorization request this code belongs to. */
  nonce: string;
  /** A key the provider does not publish. */
  stranger: RogueKey;
  sign(claims: JWTPayload, options?: SignOptions): Promise<string>;
  /** A correct ID token for this request, with overrides (`undefined` removes a claim). */
  idToken(overrides?: Record<string, unknown>, options?: SignOptions): Promise<string>;
  /** A correct Keycloak-shaped access token (pacs-viewer), with overrides. */
  accessToken(overrides?: Record<string, unknown>, options?: SignOptions): Promise<string>;
}

/** Fields of the token response to change; `undefined` removes a field. */
export type TokenScript = (context: TokenContext) => Promise<Record<string, unknown>>;

export interface TokenRequest {
  form: Record<string, string>;
  authorization: string | undefined;
}

export interface RogueOp {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Published keys; the first one signs by default. */
  keys: RogueKey[];
  /**
   * Registers a code for the authorization request behind `authorizationUrl` (its state, nonce,
   * PKCE challenge, redirect_uri) and returns the callback URL the provider would redirect to.
   */
  authorize(authorizationUrl: URL, script?: TokenScript): URL;
  /** Every request the token endpoint received. */
  tokenRequests(): TokenRequest[];
  stop(): Promise<void>;
}

export interface RogueOpOptions {
  /** Number of RSA keys in the JWKS (default 1). */
  keys?: number;
  /** The `issuer` the discovery document claims (default: the real one). */
  discoveryIssuer?: string;
  /** Advertise RFC 9207 `authorization_response_iss_parameter_supported` and add `iss` to callbacks (default true). */
  issParameter?: boolean;
}

async function rsaKey(): Promise<RogueKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = randomUUID();
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

const now = () => Math.floor(Date.now() / 1000);

function withOverrides(base: Record<string, unknown>, overrides: Record<string, unknown>): JWTPayload {
  const merged: Record<string, unknown> = { ...base, ...overrides };
  for (const [name, value] of Object.entries(overrides)) if (value === undefined) delete merged[name];
  return merged as JWTPayload;
}

export async function startRogueOp({ keys: keyCount = 1, discoveryIssuer, issParameter = true }: RogueOpOptions = {}): Promise<RogueOp> {
  const keys = await Promise.all(Array.from({ length: keyCount }, rsaKey));
  const stranger = await rsaKey();
  const clientId = 'orthanc-gateway';
  const clientSecret = `rogue-${randomBytes(12).toString('hex')}`;
  const codes = new Map<string, { challenge: string; nonce: string; redirectUri: string; script: TokenScript | undefined }>();
  const tokenRequests: TokenRequest[] = [];
  let issuer = '';

  const sign = (claims: JWTPayload, { key = keys[0]!, header = {}, noKid = false }: SignOptions = {}) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'JWT', ...(noKid ? {} : { kid: key.kid }), ...header }).sign(key.privateKey);

  function context(nonce: string): TokenContext {
    return {
      issuer,
      clientId,
      nonce,
      stranger,
      sign,
      idToken: (overrides = {}, options) =>
        sign(
          withOverrides(
            { iss: issuer, sub: 'rogue-user', aud: clientId, azp: clientId, typ: 'ID', iat: now(), exp: now() + 300, auth_time: now(), nonce, sid: 'rogue-sid', preferred_username: 'rogue' },
            overrides,
          ),
          options,
        ),
      accessToken: (overrides = {}, options) =>
        sign(
          withOverrides(
            {
              iss: issuer,
              sub: 'rogue-user',
              aud: [clientId, 'account'],
              typ: 'Bearer',
              azp: clientId,
              sid: 'rogue-sid',
              iat: now(),
              exp: now() + 300,
              jti: randomUUID(),
              scope: 'openid profile email',
              preferred_username: 'rogue',
              realm_access: { roles: ['pacs-viewer'] },
            },
            overrides,
          ),
          options,
        ),
    };
  }

  async function token(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let body = '';
    for await (const chunk of req) body += String(chunk);
    const form = Object.fromEntries(new URLSearchParams(body));
    tokenRequests.push({ form, authorization: req.headers.authorization });
    const send = (status: number, payload: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(payload));
    };
    const basic = `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`;
    if (req.headers.authorization !== basic && !(form['client_id'] === clientId && form['client_secret'] === clientSecret)) {
      return send(401, { error: 'invalid_client' });
    }
    const grant = form['code'] ? codes.get(form['code']) : undefined;
    if (form['grant_type'] !== 'authorization_code' || !grant) return send(400, { error: 'invalid_grant', error_description: 'unknown or used code' });
    codes.delete(form['code']!); // single use
    if (form['redirect_uri'] !== grant.redirectUri) return send(400, { error: 'invalid_grant', error_description: 'redirect_uri mismatch' });
    const verifier = form['code_verifier'] ?? '';
    if (createHash('sha256').update(verifier).digest('base64url') !== grant.challenge) {
      return send(400, { error: 'invalid_grant', error_description: 'PKCE verification failed' });
    }
    const ctx = context(grant.nonce);
    const response: Record<string, unknown> = { access_token: await ctx.accessToken(), token_type: 'Bearer', expires_in: 300, id_token: await ctx.idToken(), scope: 'openid profile email' };
    const changes = grant.script ? await grant.script(ctx) : {};
    send(200, withOverrides(response, changes));
  }

  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://rogue').pathname;
    const base = new URL(issuer).pathname;
    const json = (payload: unknown) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
    };
    if (path === `${base}/.well-known/openid-configuration`) {
      return json({
        issuer: discoveryIssuer ?? issuer,
        authorization_endpoint: `${issuer}/auth`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/certs`,
        end_session_endpoint: `${issuer}/logout`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
        authorization_response_iss_parameter_supported: issParameter,
      });
    }
    if (path === `${base}/certs`) return json({ keys: keys.map((key) => key.publicJwk) });
    if (path === `${base}/token` && req.method === 'POST') {
      token(req, res).catch((error: Error) => {
        res.writeHead(500);
        res.end(error.message);
      });
      return;
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}/realms/rogue`;

  return {
    issuer,
    clientId,
    clientSecret,
    keys,
    authorize(authorizationUrl, script) {
      const params = authorizationUrl.searchParams;
      const code = randomBytes(16).toString('base64url');
      codes.set(code, {
        challenge: params.get('code_challenge') ?? '',
        nonce: params.get('nonce') ?? '',
        redirectUri: params.get('redirect_uri') ?? '',
        script,
      });
      const callback = new URL(params.get('redirect_uri') ?? '');
      callback.searchParams.set('code', code);
      callback.searchParams.set('state', params.get('state') ?? '');
      if (issParameter) callback.searchParams.set('iss', issuer);
      return callback;
    },
    tokenRequests: () => [...tokenRequests],
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
