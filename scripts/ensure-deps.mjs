#!/usr/bin/env node
/**
 * Installs what the gateway's tests and `npm run dev` need on a Debian/Ubuntu machine:
 * npm packages (when node_modules is missing or older than package-lock.json) and the Debian
 * packages orthanc, orthanc-dicomweb, redis-server, chromium, nginx, openssl, a Java runtime, Maven,
 * unzip, libxml2-utils, rsyslog and rsyslog-gnutls (apt-get, as root), then the real Keycloak from
 * Maven Central (scripts/keycloak.mjs, cached outside the repository). Not root → prints the exact command to run and exits non-zero.
 * Plain JS: it runs before the TypeScript toolchain is installed.
 *
 *   --packages=a,b   only these Debian packages (and `keycloak`: fetch Keycloak too)
 *   --system-only    no npm install, no Keycloak download
 */
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureKeycloak } from './keycloak.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Debian package → a file it installs that we rely on. */
export const SYSTEM_PACKAGES = {
  orthanc: '/usr/sbin/Orthanc',
  'orthanc-dicomweb': '/usr/share/orthanc/plugins/libOrthancDicomWeb.so',
  'redis-server': '/usr/bin/redis-server',
  chromium: '/usr/bin/chromium',
  nginx: '/usr/sbin/nginx',
  openssl: '/usr/bin/openssl', // TLS tests make their certificates with the openssl CLI
  // Real Keycloak (scripts/keycloak.mjs): its distribution comes from Maven Central and runs on Java 17.
  'openjdk-17-jre-headless': '/usr/bin/java',
  maven: '/usr/bin/mvn',
  unzip: '/usr/bin/unzip',
  // Audit: xmllint checks DICOM audit messages against the schema; rsyslog (with TLS) receives them.
  'libxml2-utils': '/usr/bin/xmllint',
  rsyslog: '/usr/sbin/rsyslogd',
  'rsyslog-gnutls': '/usr/share/doc/rsyslog-gnutls/copyright', // its module's folder depends on the architecture
};
const KEYCLOAK = 'keycloak';
const KEYCLOAK_NEEDS = ['openjdk-17-jre-headless', 'maven', 'unzip'];

function run(command, args) {
  console.log(`[ensure-deps] ${command} ${args.join(' ')}`);
  execFileSync(command, args, { stdio: 'inherit', cwd: root, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

function ensureSystemPackages(wanted) {
  const missing = wanted.filter((name) => !existsSync(SYSTEM_PACKAGES[name]));
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    console.error(
      `[ensure-deps] missing system packages: ${missing.join(', ')}\n` +
        `  install them with:  sudo apt-get update && sudo apt-get install -y ${missing.join(' ')}`,
    );
    process.exit(1);
  }
  run('apt-get', ['update', '-qq']);
  run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing]);
}

function ensureNodeModules() {
  const installed = join(root, 'node_modules', '.package-lock.json');
  const lock = join(root, 'package-lock.json');
  if (existsSync(installed) && statSync(installed).mtimeMs >= statSync(lock).mtimeMs) return;
  run('npm', [process.env.CI ? 'ci' : 'install', '--no-audit', '--no-fund']);
}

async function ensureKeycloakDistribution() {
  try {
    console.log(`[ensure-deps] Keycloak: ${await ensureKeycloak()}`);
  } catch (error) {
    console.error(`[ensure-deps] ${error.message}`);
    process.exit(1);
  }
}

const onlyArg = process.argv.find((arg) => arg.startsWith('--packages='));
const named = onlyArg ? onlyArg.slice('--packages='.length).split(',') : [...Object.keys(SYSTEM_PACKAGES), KEYCLOAK];
const withKeycloak = named.includes(KEYCLOAK);
const wanted = [...new Set([...named.filter((name) => name !== KEYCLOAK), ...(withKeycloak ? KEYCLOAK_NEEDS : [])])];
const systemOnly = process.argv.includes('--system-only');
ensureSystemPackages(wanted);
if (!systemOnly) ensureNodeModules();
if (withKeycloak && !systemOnly) await ensureKeycloakDistribution();
