#!/usr/bin/env node
/**
 * The one place that knows how to get and start the real Keycloak the project is tested against
 * (plain JS: ensure-deps, npm run dev and the TypeScript test support all use it).
 *
 * Keycloak's server distribution comes from Maven Central (`org.keycloak:keycloak-quarkus-dist:<v>:zip`),
 * fetched with Maven's own client into a cache outside the repository, unpacked once, and started
 * once there so Quarkus builds itself for the dev profile (later starts from copies skip that ~15 s).
 * Every running Keycloak gets its own copy (hard links, own `data/` and build folder).
 *
 *   node scripts/keycloak.mjs fetch     download + unpack + prepare; prints the Keycloak home
 */
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';

/** The Keycloak version tests, `npm run dev -- --keycloak` and docker-compose run. */
export const KEYCLOAK_VERSION = '26.4.7';
export const KEYCLOAK_ARTIFACT = `org.keycloak:keycloak-quarkus-dist:${KEYCLOAK_VERSION}:zip`;
const DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy';
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const REALM_EXPORT = join(root, 'realm-export', 'orthanc-realm.json');

/**
 * Build-time options of every start (tests, dev, compose): Keycloak rebuilds itself whenever they
 * change, so they never vary. Runtime options (ports, hostname) come on top, see startArguments.
 */
export const KEYCLOAK_BUILD_OPTIONS = ['--db=dev-mem', '--cache=local', '--health-enabled=true'];

export class KeycloakUnavailable extends Error {}

export function keycloakCacheDir() {
  const base = process.env.KEYCLOAK_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'orthanc-oidc-gateway', 'keycloak');
  return join(base, KEYCLOAK_VERSION);
}

/** The arguments of `kc.sh` for one start: the shared build options, then ports and the pinned issuer host. */
export function startArguments({ httpPort, managementPort, hostname = `http://127.0.0.1:${httpPort}`, httpHost = '127.0.0.1' }) {
  return [
    'start-dev',
    ...KEYCLOAK_BUILD_OPTIONS,
    `--http-host=${httpHost}`,
    `--http-port=${httpPort}`,
    // Pinned: without it the issuer follows each request's Host header (localhost vs 127.0.0.1).
    `--hostname=${hostname}`,
    `--http-management-port=${managementPort}`,
    '--import-realm',
  ];
}

function shortError(error) {
  const output = `${error.stdout ?? ''}${error.stderr ?? ''}`.trim().split('\n').filter(Boolean);
  return (output.find((line) => /ERROR|Could not|Failed|refused|resolve/i.test(line)) ?? output.at(-1) ?? error.message).trim();
}

function download(cacheDir) {
  const downloads = join(cacheDir, 'download');
  try {
    execFileSync('mvn', ['-q', '-B', '-U', DEPENDENCY_PLUGIN, `-Dartifact=${KEYCLOAK_ARTIFACT}`, `-DoutputDirectory=${downloads}`], {
      stdio: 'pipe',
      cwd: cacheDir,
    });
  } catch (error) {
    if (error.code === 'ENOENT') throw new KeycloakUnavailable('Keycloak cannot be obtained: Maven (mvn) is not installed (apt-get install maven)');
    throw new KeycloakUnavailable(`Keycloak cannot be obtained: mvn could not fetch ${KEYCLOAK_ARTIFACT} from Maven Central: ${shortError(error)}`);
  }
  const zip = readdirSync(downloads).find((name) => name.endsWith('.zip'));
  if (!zip) throw new KeycloakUnavailable(`Keycloak cannot be obtained: mvn fetched no zip for ${KEYCLOAK_ARTIFACT}`);
  return join(downloads, zip);
}

function unpack(zip, cacheDir) {
  const staging = join(cacheDir, 'staging');
  rmSync(staging, { recursive: true, force: true });
  try {
    execFileSync('unzip', ['-q', zip, '-d', staging], { stdio: 'pipe' });
  } catch (error) {
    if (error.code === 'ENOENT') throw new KeycloakUnavailable('Keycloak cannot be unpacked: unzip is not installed (apt-get install unzip)');
    throw new KeycloakUnavailable(`Keycloak cannot be unpacked: ${shortError(error)}`);
  }
  const [top] = readdirSync(staging);
  return join(staging, top);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Waits until `GET url` answers 200, the process exits, or the time is up. */
export async function waitUntilReady(url, { child, timeoutMs, output }) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new KeycloakUnavailable(`Keycloak exited before it was ready (${child.exitCode ?? child.signalCode}): ${lastError(output())}`);
    }
    const ready = await fetch(url).then((response) => response.ok, () => false);
    if (ready) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new KeycloakUnavailable(`Keycloak was not ready within ${timeoutMs / 1000} s: ${lastError(output())}`);
}

function lastError(text) {
  const lines = text.split('\n').filter(Boolean);
  return (lines.filter((line) => /ERROR|Exception/.test(line)).at(-1) ?? lines.at(-1) ?? '(no output)').slice(0, 400);
}

/** One start-dev in the fresh unpacked copy, so Quarkus builds itself once for the dev profile. */
async function prepare(home) {
  const [httpPort, managementPort] = [await freePort(), await freePort()];
  let output = '';
  const child = spawn(join(home, 'bin', 'kc.sh'), startArguments({ httpPort, managementPort }).filter((arg) => arg !== '--import-realm'), {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  try {
    await waitUntilReady(`http://127.0.0.1:${managementPort}/health/ready`, { child, timeoutMs: 180_000, output: () => output });
  } finally {
    await stopGroup(child);
    rmSync(join(home, 'data'), { recursive: true, force: true });
  }
}

/** Ends a process started with `detached: true` and everything it started (kc.sh and its java). */
export async function stopGroup(child, timeoutMs = 15_000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const signal = (name) => {
    try {
      process.kill(-child.pid, name);
    } catch {
      /* already gone */
    }
  };
  signal('SIGTERM');
  const timer = setTimeout(() => signal('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
  signal('SIGKILL'); // a java that outlived kc.sh
}

/** Only one process prepares the cache at a time (jest workers, a parallel npm run dev). */
async function withLock(cacheDir, work) {
  const lock = join(cacheDir, '.lock');
  const deadline = Date.now() + 600_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) throw new KeycloakUnavailable(`Keycloak cache is locked by another process (remove ${lock} if none runs)`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  try {
    return await work();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * The prepared Keycloak home in the cache (downloaded, unpacked and built on first use).
 * Throws KeycloakUnavailable with one line saying what failed.
 */
export async function ensureKeycloak() {
  const cacheDir = keycloakCacheDir();
  const home = join(cacheDir, 'keycloak');
  const marker = join(cacheDir, '.prepared');
  if (existsSync(marker)) return home;
  mkdirSync(cacheDir, { recursive: true });
  return withLock(cacheDir, async () => {
    if (existsSync(marker)) return home;
    const unpacked = unpack(download(cacheDir), cacheDir);
    await prepare(unpacked);
    rmSync(home, { recursive: true, force: true });
    cpSync(unpacked, home, { recursive: true });
    rmSync(join(cacheDir, 'staging'), { recursive: true, force: true });
    rmSync(join(cacheDir, 'download'), { recursive: true, force: true }); // Maven's own repository keeps the zip
    writeFileSync(marker, `${KEYCLOAK_VERSION}\n`);
    return home;
  });
}

/**
 * A private Keycloak home for one running server: hard links to the prepared distribution, its
 * own build folder (Keycloak may rewrite it) and its own data/ with the realm files to import.
 */
export function createInstance(home, instanceDir, realmFiles) {
  execFileSync('cp', ['-al', home, instanceDir]);
  const build = join(instanceDir, 'lib', 'quarkus');
  rmSync(build, { recursive: true, force: true });
  cpSync(join(home, 'lib', 'quarkus'), build, { recursive: true });
  const importDir = join(instanceDir, 'data', 'import');
  mkdirSync(importDir, { recursive: true });
  for (const [name, content] of Object.entries(realmFiles)) writeFileSync(join(importDir, name), content);
  return instanceDir;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [command] = process.argv.slice(2);
  if (command !== 'fetch') {
    console.error('usage: node scripts/keycloak.mjs fetch');
    process.exit(2);
  }
  try {
    console.log(await ensureKeycloak());
  } catch (error) {
    console.error(`[keycloak] ${error.message}`);
    process.exit(1);
  }
}
