#!/usr/bin/env node
/**
 * `npm run dev` launcher (plain JS, so it runs on a fresh clone): installs what is missing, then
 * runs scripts/dev.ts with tsx. Signals are forwarded and the stack's exit code is ours, so Ctrl-C
 * ends with status 0 once every process stopped.
 */
import { execFileSync, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const keycloak = args.includes('--keycloak') || process.env.DEV_IDP === 'keycloak';
try {
  execFileSync(process.execPath, [join(root, 'scripts/ensure-deps.mjs'), `--packages=orthanc,orthanc-dicomweb,redis-server,chromium${keycloak ? ',keycloak' : ''}`], {
    stdio: 'inherit',
    cwd: root,
  });
} catch {
  process.exit(1);
}

const stack = spawn(process.execPath, ['--import', 'tsx', join(root, 'scripts/dev.ts'), ...args], { stdio: 'inherit', cwd: root });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => stack.kill(signal));
stack.on('exit', (code) => process.exit(code ?? 1));
