#!/usr/bin/env node
/**
 * Installs what the gateway's tests and `npm run dev` need on a Debian/Ubuntu machine:
 * npm packages (when node_modules is missing or older than package-lock.json) and the Debian
 * packages orthanc, orthanc-dicomweb, redis-server, chromium, nginx and openssl (apt-get, as root).
 * Not root → prints the exact command to run and exits non-zero. Plain JS: it runs before
 * the TypeScript toolchain is installed.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Debian package → a file it installs that we rely on. */
export const SYSTEM_PACKAGES = {
  orthanc: '/usr/sbin/Orthanc',
  'orthanc-dicomweb': '/usr/share/orthanc/plugins/libOrthancDicomWeb.so',
  'redis-server': '/usr/bin/redis-server',
  chromium: '/usr/bin/chromium',
  nginx: '/usr/sbin/nginx',
  openssl: '/usr/bin/openssl', // TLS tests make their certificates with the openssl CLI
};

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

const onlyArg = process.argv.find((arg) => arg.startsWith('--packages='));
const wanted = onlyArg ? onlyArg.slice('--packages='.length).split(',') : Object.keys(SYSTEM_PACKAGES);
ensureSystemPackages(wanted);
if (!process.argv.includes('--system-only')) ensureNodeModules();
