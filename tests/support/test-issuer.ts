import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload, type CryptoKey } from 'jose';

/**
 * A minimal OpenID issuer for Bearer tests: discovery + JWKS over real HTTP, tokens signed in the
 * test with jose. Shaped like Keycloak (`/realms/<realm>`, Keycloak claim layout), so tests can
 * also forge every kind of bad token the gateway must refuse.
 */
export interface SigningKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: JWK;
}

export interface TokenOptions {
  key?: SigningKey;
  /** Header overrides (e.g. a different kid, or extra header parameters). */
  header?: Record<string, unknown>;
  /** Omit the kid header. */
  noKid?: boolean;
}

export interface TestIssuer {
  issuer: string;
  audience: string;
  /** Keys published in the JWKS; the first one signs by default. */
  keys: SigningKey[];
  jwksRequests(): number;
  /** When false, discovery and JWKS answer 503. */
  setAvailable(available: boolean): void;
  newKey(alg?: string): Promise<SigningKey>;
  publish(key: SigningKey): void;
  unpublish(kid: string): void;
  /** Claims of a Keycloak 26 access token for a user with the given realm roles. */
  accessClaims(user: string, roles: string[], overrides?: JWTPayload): JWTPayload;
  sign(claims: JWTPayload, options?: TokenOptions): Promise<string>;
  /** A valid access token for `user` with `roles`. */
  token(user: string, roles: string[], overrides?: JWTPayload): Promise<string>;
  stop(): Promise<void>;
}

async function createKey(alg = 'RS256'): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = randomUUID();
  return { kid, alg, privateKey, publicKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

export async function startTestIssuer({ realm = 'orthanc', audience = 'orthanc-gateway' } = {}): Promise<TestIssuer> {
  const published = new Map<string, SigningKey>();
  let available = true;
  let jwksCount = 0;
  const first = await createKey();
  published.set(first.kid, first);

  const server = http.createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (!available) return send(503, { error: 'down' });
    if (req.url === `/realms/${realm}/.well-known/openid-configuration`) {
      return send(200, {
        issuer,
        jwks_uri: `${issuer}/protocol/openid-connect/certs`,
        authorization_endpoint: `${issuer}/protocol/openid-connect/auth`,
        token_endpoint: `${issuer}/protocol/openid-connect/token`,
        id_token_signing_alg_values_supported: ['RS256'],
      });
    }
    if (req.url === `/realms/${realm}/protocol/openid-connect/certs`) {
      jwksCount += 1;
      return send(200, { keys: [...published.values()].map((key) => key.publicJwk) });
    }
    send(404, { error: 'not found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}/realms/${realm}`;

  const accessClaims = (user: string, roles: string[], overrides: JWTPayload = {}): JWTPayload => {
    const now = Math.floor(Date.now() / 1000);
    return {
      iss: issuer,
      sub: `sub-${user}`,
      aud: [audience, 'account'],
      typ: 'Bearer',
      azp: 'ohif-viewer',
      sid: `sid-${user}`,
      scope: 'openid profile email',
      iat: now,
      exp: now + 300,
      jti: randomUUID(),
      preferred_username: user,
      name: `${user} Test`,
      email: `${user}@example.org`,
      realm_access: { roles: [...roles, 'default-roles-orthanc'] },
      resource_access: { account: { roles: ['manage-account'] } },
      ...overrides,
    };
  };

  const sign = async (claims: JWTPayload, { key = first, header = {}, noKid = false }: TokenOptions = {}) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: key.alg, typ: 'JWT', ...(noKid ? {} : { kid: key.kid }), ...header })
      .sign(key.privateKey);

  return {
    issuer,
    audience,
    get keys() {
      return [...published.values()];
    },
    jwksRequests: () => jwksCount,
    setAvailable: (value) => {
      available = value;
    },
    newKey: createKey,
    publish: (key) => published.set(key.kid, key),
    unpublish: (kid) => published.delete(kid),
    accessClaims,
    sign,
    token: (user, roles, overrides) => sign(accessClaims(user, roles, overrides)),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
