import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { startDevIdp, type DevIdp } from '../../src/devidp/server.js';
import { signInWithCodeFlow } from './dev-idp-login.js';
import { freePort } from './free-port.js';
import { startTestGateway, type TestGateway } from './gateway.js';
import { Browser, type Step } from './http-browser.js';
import { startOrthanc, type StartOrthancOptions, type TestOrthanc } from './orthanc.js';
import { startRedis, type TestRedis } from './redis.js';

export const DEV_PASSWORDS: Record<string, string> = {
  admin: 'admin-dev-password',
  uploader: 'uploader-dev-password',
  viewer: 'viewer-dev-password',
  norole: 'norole-dev-password',
  'viewer-a': 'viewer-a-dev-password',
  'viewer-b': 'viewer-b-dev-password',
  patient: 'patient-dev-password',
};

/** Collects the gateway's JSON log lines so tests can count events (e.g. token refreshes). */
export class LogSink extends Writable {
  readonly lines: Array<Record<string, unknown>> = [];
  override _write(chunk: Buffer, _encoding: string, callback: () => void) {
    for (const line of chunk.toString().split('\n').filter(Boolean)) this.lines.push(JSON.parse(line) as Record<string, unknown>);
    callback();
  }
  count(message: string): number {
    return this.lines.filter((line) => line['msg'] === message).length;
  }
}

export interface SessionStack {
  idp: DevIdp;
  orthanc: TestOrthanc;
  redis: TestRedis;
  /** Replicas sharing Redis, PUBLIC_URL and SESSION_SECRET (like replicas behind a load balancer). */
  gateways: TestGateway[];
  publicUrl: string;
  logs: LogSink;
  stop(): Promise<void>;
}

function realmWithAccessTokenLifespan(seconds: number): string {
  const realm = JSON.parse(readFileSync(new URL('../../realm-export/orthanc-realm.json', import.meta.url), 'utf8')) as Record<string, unknown>;
  const file = join(mkdtempSync(join(tmpdir(), 'realm-')), 'realm.json');
  writeFileSync(file, JSON.stringify({ ...realm, accessTokenLifespan: seconds }));
  return file;
}

/**
 * The browser sign-in stack with real components: dev IdP (oidc-provider), Orthanc, Redis, and
 * one or more gateways whose PUBLIC_URL is the first one's loopback URL.
 */
export async function startSessionStack({
  replicas = 1,
  accessTokenLifespan,
  env: extraEnv = {},
  idpFront,
  orthanc: orthancOptions = {},
  orthancFront,
  smartClients,
}: {
  replicas?: number;
  /** Clients the dev IdP gives the optional SMART patient scope (as `setup --smart-clients`). */
  smartClients?: string[];
  accessTokenLifespan?: number;
  env?: Record<string, string>;
  orthanc?: StartOrthancOptions;
  /** A server in front of the dev IdP (e.g. tests/support/held-proxy.ts): the gateway reaches the IdP's endpoints through it (OIDC_DISCOVERY_URL). */
  idpFront?: (idpUrl: string) => Promise<{ url: string; stop(): Promise<void> }>;
  /** A server the gateways reach Orthanc through (e.g. the recording proxy), started on Orthanc's URL and stopped with the stack. */
  orthancFront?: (orthancUrl: string) => Promise<{ url: string; stop(): Promise<void> }>;
} = {}): Promise<SessionStack> {
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const [idp, orthanc, redis] = await Promise.all([
    startDevIdp({ appOrigin: publicUrl, realmFile: accessTokenLifespan ? realmWithAccessTokenLifespan(accessTokenLifespan) : undefined, smartClients }),
    startOrthanc(orthancOptions),
    startRedis(),
  ]);
  const front = idpFront ? await idpFront(idp.url) : undefined;
  const orthancProxy = orthancFront ? await orthancFront(orthanc.url) : undefined;
  const logs = new LogSink();
  const env = {
    ...(front ? { OIDC_DISCOVERY_URL: `${front.url}${new URL(idp.issuer).pathname}` } : {}),
    PUBLIC_URL: publicUrl,
    OIDC_ISSUER: idp.issuer,
    OIDC_CLIENT_SECRET: idp.realm.clients.find((client) => client.clientId === 'orthanc-gateway')?.secret,
    ORTHANC_URL: orthancProxy?.url ?? orthanc.url,
    ORTHANC_USERNAME: orthanc.username,
    ORTHANC_PASSWORD: orthanc.password,
    REDIS_URL: redis.url,
    SESSION_SECRET: 'test-session-secret-0123456789abcdef0123456789',
    LOG_LEVEL: 'info',
    // The suites sign in dozens of times a minute from one address.
    RATE_LIMIT_LOGIN_PER_MINUTE: '1000',
    RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '1000',
    ...extraEnv,
  };
  const gateways: TestGateway[] = [];
  for (let index = 0; index < replicas; index++) {
    gateways.push(await startTestGateway({ ...env, PORT: String(index === 0 ? port : await freePort()) }, { logDestination: logs }));
  }
  return {
    idp,
    orthanc,
    redis,
    gateways,
    publicUrl,
    logs,
    stop: async () => {
      await Promise.all(gateways.map((gateway) => gateway.close(1000)));
      // allSettled: a test may already have stopped the IdP or Redis on purpose.
      await Promise.allSettled([idp.stop(), orthanc.stop(), redis.stop(), front?.stop(), orthancProxy?.stop()]);
    },
  };
}

/** Signs `username` in through the gateway's /auth/login and the dev IdP form; returns the final step. */
export async function signIn(browser: Browser, gatewayUrl: string, username: string, returnTo = '/auth/me'): Promise<Step> {
  const login = new URL(`/auth/login?returnTo=${encodeURIComponent(returnTo)}`, gatewayUrl);
  return browser.login(login, username, DEV_PASSWORDS[username] ?? '', []);
}

/** A fresh cookie jar signed in as `username` through `gatewayUrl`; throws unless the sign-in ends on a 200 page. */
export async function signedInBrowser(gatewayUrl: string, username: string): Promise<Browser> {
  const browser = new Browser();
  const step = await signIn(browser, gatewayUrl, username);
  if (step.kind !== 'page' || step.status !== 200) throw new Error(`sign-in as ${username} failed: ${JSON.stringify(step).slice(0, 300)}`);
  return browser;
}

/** `username`'s tokens for the gateway's own client, fetched the way a Bearer client would (code + PKCE through the dev IdP's form). */
export function gatewayClientTokens(stack: SessionStack, username: string) {
  return signInWithCodeFlow({
    issuer: stack.idp.issuer,
    clientId: 'orthanc-gateway',
    clientSecret: stack.idp.realm.clients.find((client) => client.clientId === 'orthanc-gateway')?.secret,
    redirectUri: `${stack.publicUrl}/auth/callback`,
    username,
    password: DEV_PASSWORDS[username] ?? '',
  });
}
