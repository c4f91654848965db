/**
 * `npm run dev`: the whole local stack in one command — dev IdP (or Keycloak: `--keycloak`, DEV_IDP=keycloak), Orthanc (+ DICOMweb, authentication
 * on, one generated service user, DICOM port off), Redis, the gateway, sample studies. Ctrl-C stops
 * everything. Development only: refuses NODE_ENV=production.
 *
 * Ports and data folder can be moved with DEV_GATEWAY_PORT (8080), DEV_IDP_PORT (8081),
 * DEV_ORTHANC_PORT (8042) and DEV_DATA_DIR (.dev-data). The OHIF viewer is the pinned build from
 * scripts/fetch-ohif.mjs unless OHIF_DIST names another one.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config/load.js';
import { createLogger } from '../src/observability/logger.js';
import { startGateway } from '../src/server.js';
import { loadSampleStudies } from './dev/samples.js';
import { identityProviderKind, startDevIdentityProvider, type DevIdentityProvider } from './dev/identity-provider.js';
import { REDIS_BINARY, startRedis, type TestRedis } from '../tests/support/redis.js';
import { startOrthanc, type TestOrthanc } from '../tests/support/orthanc.js';

const env = process.env;
const ports = {
  gateway: Number(env['DEV_GATEWAY_PORT'] ?? 8080),
  idp: Number(env['DEV_IDP_PORT'] ?? 8081),
  orthanc: Number(env['DEV_ORTHANC_PORT'] ?? 8042),
};
const dataDir = resolve(env['DEV_DATA_DIR'] ?? '.dev-data');

class DevStackError extends Error {}

function ensurePortFree(port: number, what: string, variable: string): Promise<void> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', () =>
      reject(new DevStackError(`Port ${port} (${what}) is already in use: stop what runs there, or set ${variable} to another port.`)),
    );
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolvePort()));
  });
}

async function startSessionStore(): Promise<TestRedis | undefined> {
  if (!existsSync(REDIS_BINARY)) {
    console.warn('[dev] redis-server is not installed: sessions will live in memory (install it with: apt-get install redis-server).');
    return undefined;
  }
  return startRedis();
}

/** Best effort: without a viewer the rest of the stack is still useful. Progress goes to our stderr. */
function fetchViewer(): Promise<string | undefined> {
  if (env['OHIF_DIST']) return Promise.resolve(env['OHIF_DIST']);
  const script = join(dirname(fileURLToPath(import.meta.url)), 'fetch-ohif.mjs');
  return new Promise((resolveDist) => {
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const giveUp = (why: string) => {
      console.warn(`[dev] the OHIF viewer is not available (${why}); starting without it.`);
      resolveDist(undefined);
    };
    child.on('error', (error) => giveUp(error.message));
    child.on('exit', (code) => (code === 0 ? resolveDist(stdout.trim().split('\n').at(-1)) : giveUp(`scripts/fetch-ohif.mjs exited with ${code}`)));
  });
}

/** Per-study access and SMART apps stay off unless the developer sets STUDY_ACCESS_* / SMART_* (README: npm run dev). */
function optInEnv(): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(env).filter(([name]) => name.startsWith('STUDY_ACCESS_') || name.startsWith('SMART_')));
}

function printBanner(idp: DevIdentityProvider, publicUrl: string, orthanc: TestOrthanc, viewer: boolean) {
  const users = idp.realm.users
    .map((user) => `    ${user.username.padEnd(10)} ${String(user.password).padEnd(22)} ${user.realmRoles.join(', ') || '(no role)'}${user.groups.length ? `; groups ${user.groups.join(', ')}` : ''}`)
    .join('\n');
  console.log(`
[dev] orthanc-oidc-gateway development stack is up
  gateway         ${publicUrl}   (open this address; pages opened under another name of this machine are sent here)
  OHIF viewer     ${viewer ? `${publicUrl}/` : 'not available (see the warning above)'}
  DICOMweb root   ${publicUrl}/pacs/dicom-web
  Orthanc admin   ${publicUrl}/pacs-admin/app/explorer.html   (admin role)
  identity        ${idp.issuer}   (${idp.label})
  Orthanc         ${orthanc.url}   (loopback only, service user "${orthanc.username}")
  data folder     ${dataDir}
  dev users (username / password / roles; groups):
${users}
  Ctrl-C stops everything.
[dev] ready: ${publicUrl}`);
}

async function main() {
  if (env['NODE_ENV'] === 'production') throw new DevStackError('npm run dev is for development: it refuses NODE_ENV=production.');
  await ensurePortFree(ports.gateway, 'gateway', 'DEV_GATEWAY_PORT');
  const idpKind = identityProviderKind(process.argv.slice(2), env);
  await ensurePortFree(ports.idp, idpKind === 'keycloak' ? 'Keycloak' : 'dev IdP', 'DEV_IDP_PORT');
  await ensurePortFree(ports.orthanc, 'Orthanc', 'DEV_ORTHANC_PORT');

  const stack: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stack.reverse()) await stop().catch((error: Error) => console.error(`[dev] ${error.message}`));
  };
  let stopping = false;
  const onSignal = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n[dev] ${signal}: stopping every process…`);
    void stopAll().then(() => {
      console.log('[dev] every process stopped');
      process.exit(0);
    });
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));

  const viewer = fetchViewer(); // downloads in parallel with the rest of the start
  try {
    const publicUrl = `http://localhost:${ports.gateway}`;
    const smartClients = (env['SMART_CLIENTS'] ?? '').split(',').map((id) => id.trim()).filter(Boolean);
    const idp = await startDevIdentityProvider(idpKind, ports.idp, publicUrl, smartClients, env['SMART_PATIENT_CLAIM'] ?? 'patient');
    stack.push(() => idp.stop());
    const orthanc = await startOrthanc({ port: ports.orthanc, dir: join(dataDir, 'orthanc') });
    stack.push(() => orthanc.stop());
    const redis = await startSessionStore();
    if (redis) stack.push(() => redis.stop());

    const loaded = await loadSampleStudies(orthanc);
    console.log(`[dev] sample studies: ${loaded.added ? `generated and uploaded ${loaded.added}` : 'already present'}`);

    const ohifDist = await viewer;
    const gatewayClient = idp.realm.clients.find((client) => client.clientId === 'orthanc-gateway');
    const config = loadConfig({
      NODE_ENV: 'development',
      PORT: String(ports.gateway),
      PUBLIC_URL: publicUrl,
      OIDC_ISSUER: idp.issuer,
      OIDC_CLIENT_SECRET: gatewayClient?.secret,
      ORTHANC_URL: orthanc.url,
      ORTHANC_USERNAME: orthanc.username,
      ORTHANC_PASSWORD: orthanc.password,
      REDIS_URL: redis?.url,
      SESSION_SECRET: randomBytes(32).toString('base64url'),
      LOG_LEVEL: env['LOG_LEVEL'] ?? 'info',
      OHIF_DIST: ohifDist,
      ...optInEnv(),
    });
    const gateway = await startGateway(config, createLogger(config.logLevel), '127.0.0.1');
    stack.push(() => gateway.close(2000));
    printBanner(idp, publicUrl, orthanc, ohifDist !== undefined);
  } catch (error) {
    await stopAll();
    throw error;
  }
}

main().catch((error: unknown) => {
  console.error(`[dev] ${error instanceof DevStackError ? '' : 'failed to start: '}${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
