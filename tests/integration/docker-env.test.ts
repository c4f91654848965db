import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { loadConfig, type Config } from '../../src/config/load.js';
import { DOCKER_DIR, readComposeInterpolated, readDotenv, readOrthancConfig, serviceEnvironment } from '../support/docker-stack.js';
import { makeSeries, type GeneratedSeries } from '../support/dicom.js';
import { ACCEPT_DICOM_JSON, tagValues } from '../support/dicomweb.js';
import { freePort } from '../support/free-port.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startOrthanc, uploadInstances, type TestOrthanc } from '../support/orthanc.js';
import { spawnManaged, stopProcess, waitFor, type ManagedProcess } from '../support/process.js';
import { REDIS_BINARY } from '../support/redis.js';
import { startTestIssuer, type TestIssuer } from '../support/test-issuer.js';

/**
 * Runs the gateway with exactly the environment docker/docker-compose.yml gives the `gateway`
 * service, with the compose hostnames mapped to local processes (no Docker engine here):
 *
 *   orthanc:8042    -> a real Orthanc + DICOMweb configured from docker/orthanc.json
 *   redis:6379      -> a real redis-server started with the redis service's own command line
 *   localhost:8081  -> the OpenID issuer (Keycloak's published port: what tokens carry in "iss")
 *   keycloak:8080   -> a TCP forwarder to the same issuer (the internal name the gateway fetches
 *                      discovery and JWKS from), so the issuer/discovery split is really exercised
 *   localhost:8080  -> the gateway's own port (published 8080:8080)
 *
 * The secrets come from a docker/.env built from docker/.env.example, as an operator would.
 */

const hex = () => randomBytes(24).toString('hex');
// docker/.env: every variable of .env.example, empty ones (the secrets) filled with random hex.
const dotenv = Object.fromEntries(Object.entries(readDotenv()).map(([key, value]) => [key, value === '' ? hex() : value]));
const composeServices = readComposeInterpolated(dotenv).services;
const composeEnv = serviceEnvironment(composeServices['gateway']!);

let orthanc: TestOrthanc;
let issuer: TestIssuer;
let gateway: TestGateway;
let redis: { proc: ManagedProcess; dir: string; port: number };
let forwarder: { server: net.Server; port: number; connections: () => number };
let mappedEnv: Record<string, string>;
let config: Config;
let series: GeneratedSeries;

/** A plain TCP forwarder: a second name (port) for the same issuer, like keycloak:8080 vs localhost:8081. */
async function startForwarder(targetPort: number) {
  let count = 0;
  const server = net.createServer((client) => {
    count += 1;
    const upstream = net.connect(targetPort, '127.0.0.1');
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as net.AddressInfo).port, connections: () => count };
}

/**
 * redis-server started with the compose service's own command line (password from its environment,
 * append-only file), only pointed at a free loopback port and a temp dir instead of the container's.
 */
async function startRedisLikeCompose() {
  const service = composeServices['redis']!;
  const command = ([] as string[]).concat(service.command ?? []);
  expect(command.slice(0, 2)).toEqual(['sh', '-c']);
  const dir = await mkdtemp(join(tmpdir(), 'redis-compose-'));
  const port = await freePort();
  const script = command[2]!.replace(/^exec redis-server /, `exec ${REDIS_BINARY} --port ${port} --bind 127.0.0.1 --dir ${dir} --loglevel warning `);
  expect(script).not.toBe(command[2]);
  const proc = spawnManaged('sh', ['-c', script], { cwd: dir, env: { PATH: process.env['PATH'] ?? '', ...serviceEnvironment(service) } });
  return { proc, dir, port };
}

async function redisAnswers(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 500 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } finally {
    client.disconnect();
  }
}

function runProcess(command: string, args: string[], env: Record<string, string>): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: 'ignore' });
    child.once('exit', (code) => resolve(code));
    child.once('error', () => resolve(null));
  });
}
const runNode = (script: string, env: Record<string, string>) => runProcess(process.execPath, [script], env);
const runShell = (script: string, env: Record<string, string>) => runProcess('sh', ['-c', script], env);

/** Replaces `host:port` where it stands as a URL authority (after // or userinfo @). */
function mapHost(value: string, from: string, to: string): string {
  const escaped = from.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return value.replace(new RegExp(`(?<=//|@)${escaped}(?=[/?#]|$)`, 'g'), to);
}

beforeAll(async () => {
  // docker/orthanc.json, substituted as the orthancteam/orthanc image does at start-up.
  const orthancConfig = readOrthancConfig(dotenv);
  const users = orthancConfig['RegisteredUsers'] as Record<string, string>;
  const {
    StorageDirectory: _storage, // container paths: the helper uses a temp dir
    IndexDirectory: _index,
    HttpPort: _port, // the helper picks a free port
    RegisteredUsers: _users, // passed as `users` below (same values)
    ...orthancOptions
  } = orthancConfig;

  // Assigned one by one, so afterAll stops whatever did start if another one fails.
  await Promise.all([
    startOrthanc({
      users,
      // Everything else exactly as in docker/orthanc.json, except that this local Orthanc listens on
      // loopback only: in compose, remote access is needed because the gateway is another container.
      extraConfig: { ...orthancOptions, RemoteAccessAllowed: false },
    }).then((started) => (orthanc = started)),
    startTestIssuer({
      realm: new URL(composeEnv['OIDC_ISSUER']!).pathname.split('/').pop()!,
      audience: composeEnv['OIDC_AUDIENCE']!,
    }).then((started) => (issuer = started)),
    startRedisLikeCompose().then((started) => (redis = started)),
  ]);
  forwarder = await startForwarder(Number(new URL(issuer.issuer).port));

  const gatewayPort = await freePort();
  const issuerHost = new URL(issuer.issuer).host;
  const mapping: Array<[string, string]> = [
    ['orthanc:8042', `127.0.0.1:${orthanc.port}`],
    ['redis:6379', `127.0.0.1:${redis.port}`],
    ['localhost:8081', issuerHost],
    ['keycloak:8080', `127.0.0.1:${forwarder.port}`],
    ['localhost:8080', `127.0.0.1:${gatewayPort}`],
  ];
  mappedEnv = Object.fromEntries(
    Object.entries(composeEnv).map(([key, value]) => [key, mapping.reduce((text, [from, to]) => mapHost(text, from, to), value)]),
  );
  mappedEnv['PORT'] = String(gatewayPort); // published 8080:8080 -> a free local port
  // The OHIF build lives in the image (/app/ohif); this machine may not have it, and serving the
  // viewer is not what this test is about.
  delete mappedEnv['OHIF_DIST'];
  // Keep the test output quiet unless asked (compose: LOG_LEVEL from docker/.env, default info).
  mappedEnv['LOG_LEVEL'] = process.env['TEST_LOG_LEVEL'] ?? 'silent';

  await waitFor(() => redisAnswers(mappedEnv['REDIS_URL']!), {
    what: 'redis-server with the compose password',
    timeoutMs: 10_000,
    abortIf: () => (redis.proc.hasExited() ? `redis-server exited: ${redis.proc.output()}` : undefined),
  });

  series = makeSeries({ modality: 'CT', patientName: 'Compose^Carla', patientId: 'P-COMPOSE', instances: 2, rows: 32, columns: 32 });
  await uploadInstances(orthanc, series.files);

  config = loadConfig(mappedEnv);
  gateway = await startTestGateway(mappedEnv);
}, 90_000);

afterAll(async () => {
  await gateway?.close();
  await Promise.all([
    orthanc?.stop(),
    issuer?.stop(),
    redis ? stopProcess(redis.proc, { timeoutMs: 5000 }).then(() => rm(redis.dir, { recursive: true, force: true })) : undefined,
    forwarder ? new Promise<void>((resolve) => forwarder.server.close(() => resolve())) : undefined,
  ]);
});

describe('the compose environment, hosts mapped to local processes', () => {
  it('maps every compose hostname (nothing still points at a container name)', () => {
    for (const [key, value] of Object.entries(mappedEnv)) {
      expect({ key, value: /\/\/(keycloak|orthanc|redis|localhost)[:/]|@redis:/.test(value) ? value : 'ok' }).toEqual({ key, value: 'ok' });
    }
    // Only the hosts, the port, the log level and OHIF_DIST differ from what compose sets.
    const changed = Object.keys(composeEnv).filter((key) => key !== 'LOG_LEVEL' && composeEnv[key] !== mappedEnv[key]).sort();
    expect(changed).toEqual(['OHIF_DIST', 'OIDC_DISCOVERY_URL', 'OIDC_ISSUER', 'ORTHANC_URL', 'PORT', 'PUBLIC_URL', 'REDIS_URL']);
    expect(Object.keys(mappedEnv).filter((key) => !(key in composeEnv))).toEqual([]);
  });

  it('loads as a production configuration with the issuer/discovery split', () => {
    expect(config.production).toBe(true);
    expect(config.oidc.issuer).toBe(issuer.issuer); // localhost:8081 -> the issuer tokens name
    expect(config.oidc.discoveryUrl).toBe(`http://127.0.0.1:${forwarder.port}/realms/orthanc`); // keycloak:8080
    expect(config.oidc.discoveryUrl).not.toBe(config.oidc.issuer);
    expect(config.orthanc.username).toBe('gateway');
    expect(config.redisUrl).toMatch(/^redis:\/\/:[0-9a-f]+@127\.0\.0\.1:\d+$/);
  });

  it('/readyz is 200: Orthanc, the identity provider (and Redis, when checked) all answer', async () => {
    const response = await fetch(`${gateway.url}/readyz`);
    const body = (await response.json()) as { status: string; checks: Record<string, { ok: boolean; error?: string }> };
    expect({ status: response.status, body }).toMatchObject({ status: 200, body: { status: 'ready' } });
    expect(Object.keys(body.checks)).toEqual(expect.arrayContaining(['orthanc', 'identityProvider']));
    for (const [name, check] of Object.entries(body.checks)) expect({ name, ok: check.ok }).toEqual({ name, ok: true });
  });

  it('a Bearer QIDO through the gateway finds the study in Orthanc', async () => {
    const token = await issuer.token('viewer', [composeEnv['ROLE_VIEWER']!]);
    const response = await fetch(`${gateway.url}/pacs/dicom-web/studies?PatientID=P-COMPOSE`, {
      headers: { authorization: `Bearer ${token}`, accept: ACCEPT_DICOM_JSON },
    });
    expect(response.status).toBe(200);
    const studies = await response.json();
    expect(tagValues(studies, '0020000D')).toEqual([series.studyInstanceUid]);
    // RetrieveURL points at PUBLIC_URL/pacs/dicom-web, not at Orthanc.
    for (const url of tagValues(studies, '00081190') as string[]) {
      expect(url.startsWith(`${mappedEnv['PUBLIC_URL']}/pacs/dicom-web/studies/`)).toBe(true);
    }
  });

  it('fetched discovery and JWKS through the internal name (OIDC_DISCOVERY_URL), not the issuer URL', () => {
    expect(forwarder.connections()).toBeGreaterThan(0);
    expect(issuer.jwksRequests()).toBeGreaterThan(0);
  });

  it('the image HEALTHCHECK (docker/healthcheck.mjs) passes against this gateway', async () => {
    expect(await runNode(join(DOCKER_DIR, 'healthcheck.mjs'), { PORT: mappedEnv['PORT']! })).toBe(0);
  });

  it("the redis service's healthcheck passes with its password and fails without", async () => {
    const test = ([] as string[]).concat(composeServices['redis']!.healthcheck?.test ?? []);
    expect(test[0]).toBe('CMD-SHELL');
    const script = test[1]!.replace(/redis-cli /, `redis-cli -p ${redis.port} `);
    const env = serviceEnvironment(composeServices['redis']!);
    expect(await runShell(script, env)).toBe(0);
    expect(await runShell(script, { ...env, REDIS_PASSWORD: 'wrong' })).not.toBe(0);
  });

  it('redis runs with append-only persistence, as the compose command asks', async () => {
    const client = new Redis(mappedEnv['REDIS_URL']!, { maxRetriesPerRequest: 1 });
    try {
      expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
    } finally {
      client.disconnect();
    }
  });

  it('refuses a request without a token', async () => {
    const response = await fetch(`${gateway.url}/pacs/dicom-web/studies`, { headers: { accept: ACCEPT_DICOM_JSON } });
    expect(response.status).toBe(401);
  });

  it('Orthanc accepts only the service credential from docker/.env', async () => {
    expect((await fetch(`${orthanc.url}/system`)).status).toBe(401);
    const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    expect((await fetch(`${orthanc.url}/system`, { headers: { authorization: basic('orthanc', 'orthanc') } })).status).toBe(401);
    const ok = await fetch(`${orthanc.url}/system`, {
      headers: { authorization: basic(mappedEnv['ORTHANC_USERNAME']!, dotenv['ORTHANC_GATEWAY_PASSWORD']!) },
    });
    expect(ok.status).toBe(200);
  });
});
