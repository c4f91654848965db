#!/usr/bin/env node
/**
 * Fetches the prebuilt OHIF viewer pinned in package.json (`config.ohifVersion`) into
 * `.cache/ohif/<version>/dist` and puts our `ohif/app-config.js` in it. Plain Node, no deps.
 *
 * `npm pack` downloads the published tarball (checked against the registry's integrity) without
 * installing @ohif/app and its hundreds of build dependencies; only its `dist/` is extracted.
 * Idempotent and safe to run concurrently (extraction goes to a temp folder, then one rename).
 *
 *   node scripts/fetch-ohif.mjs   progress on stderr; the dist folder as the last line of stdout
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const appConfig = join(root, 'ohif', 'app-config.js');

export function ohifVersion() {
  const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).config?.ohifVersion;
  if (typeof version !== 'string' || !/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(version)) {
    throw new Error(`package.json config.ohifVersion must be an exact version (e.g. 3.13.2), got ${JSON.stringify(version)}`);
  }
  return version;
}

export function ohifDistPath(version = ohifVersion()) {
  return join(root, '.cache', 'ohif', version, 'dist');
}

function sameContent(a, b) {
  return existsSync(a) && existsSync(b) && readFileSync(a).equals(readFileSync(b));
}

function download(version, cacheDir) {
  const work = mkdtempSync(join(cacheDir, '.download-'));
  try {
    console.error(`[ohif] downloading @ohif/app@${version} (about 50 MB, 200 MB unpacked) with npm pack…`);
    const packed = execFileSync('npm', ['pack', `@ohif/app@${version}`, '--pack-destination', work, '--json', '--silent'], {
      cwd: work,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const tarball = join(work, JSON.parse(packed)[0].filename);
    execFileSync('tar', ['-xzf', tarball, '-C', work, 'package/dist'], { stdio: 'inherit' });
    // Keep OHIF's own default config next to (not inside) the served folder, for reference.
    copyFileSync(join(work, 'package/dist/app-config.js'), join(cacheDir, 'app-config.ohif-default.js'));
    try {
      renameSync(join(work, 'package/dist'), join(cacheDir, 'dist'));
    } catch (error) {
      // Another run finished first: its copy is just as good.
      if (!existsSync(join(cacheDir, 'dist', 'index.html'))) throw error;
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Makes sure the pinned viewer is extracted with our app-config.js; returns its dist folder. */
export function fetchOhif() {
  const version = ohifVersion();
  const dist = ohifDistPath(version);
  if (existsSync(join(dist, 'index.html')) && sameContent(appConfig, join(dist, 'app-config.js'))) {
    console.error(`[ohif] @ohif/app@${version} already in ${dist}`);
    return dist;
  }
  const cacheDir = dirname(dist);
  mkdirSync(cacheDir, { recursive: true });
  if (!existsSync(join(dist, 'index.html'))) download(version, cacheDir);
  // Write then rename, so a gateway serving the folder never sees half a file.
  const staged = join(cacheDir, `.app-config.${process.pid}.js`);
  copyFileSync(appConfig, staged);
  renameSync(staged, join(dist, 'app-config.js'));
  console.error(`[ohif] @ohif/app@${version} ready in ${dist}`);
  return dist;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    console.log(fetchOhif());
  } catch (error) {
    console.error(`[ohif] ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
