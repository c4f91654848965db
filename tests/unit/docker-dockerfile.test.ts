import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { IMAGE_GLIBC_TUNABLES, IMAGE_NODE_FLAGS } from '../../bench/lib/processes.js';
import { DOCKERFILE, DOCKER_DIR, REPO_ROOT } from '../support/docker-stack.js';

/**
 * docker/Dockerfile and the root .dockerignore checked by content (no Docker engine on these
 * machines), plus the HEALTHCHECK script run for real against a local HTTP server.
 */

interface Instruction {
  keyword: string;
  args: string;
  stage: number;
}

/** Instructions with continuation lines joined and comments dropped; `stage` counts FROMs from 0. */
function parseDockerfile(text: string): Instruction[] {
  const logical: string[] = [];
  let pending = '';
  for (const line of text.split('\n')) {
    if (/^\s*#/.test(line) && !pending) continue;
    if (/^\s*#/.test(line)) continue; // comment lines inside a continued instruction
    const continued = /\\\s*$/.test(line);
    pending += (pending ? ' ' : '') + line.replace(/\\\s*$/, '').trim();
    if (!continued) {
      if (pending.trim()) logical.push(pending.trim());
      pending = '';
    }
  }
  let stage = -1;
  return logical.map((line) => {
    const [, keyword = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    if (keyword.toUpperCase() === 'FROM') stage += 1;
    return { keyword: keyword.toUpperCase(), args, stage };
  });
}

const dockerfileText = readFileSync(DOCKERFILE, 'utf8');
const instructions = parseDockerfile(dockerfileText);
const froms = instructions.filter((i) => i.keyword === 'FROM');
const stageNames = froms.map((from) => /\bAS\s+(\S+)/i.exec(from.args)?.[1]);
const stageIndex = (name: string): number => {
  const index = stageNames.indexOf(name);
  if (index < 0) throw new Error(`no stage named ${name}`);
  return index;
};
const inStage = (name: string, keyword?: string) =>
  instructions.filter((i) => i.stage === stageIndex(name) && (keyword === undefined || i.keyword === keyword));
const finalStage = froms.length - 1;
const final = (keyword: string) => instructions.filter((i) => i.stage === finalStage && i.keyword === keyword);
/** Global ARG defaults (before the first FROM), to resolve `FROM ${NODE_IMAGE}`. */
const globalArgs = Object.fromEntries(
  instructions
    .filter((i) => i.stage === -1 && i.keyword === 'ARG')
    .map((i) => i.args.split('='))
    .map(([name = '', value = '']) => [name, value]),
);
const resolveArgs = (text: string) => text.replace(/\$\{?(\w+)\}?/g, (whole, name: string) => globalArgs[name] ?? whole);
const packageJson = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { config?: { ohifVersion?: string } };

describe('stages', () => {
  it('is multi-stage: build, ohif, then a runtime stage', () => {
    expect(froms.length).toBeGreaterThanOrEqual(3);
    expect(stageNames).toEqual(expect.arrayContaining(['build', 'ohif']));
    expect(stageNames[finalStage]).toBe('runtime');
  });

  it('uses the Node 22 LTS slim image in every stage', () => {
    for (const from of froms) expect(resolveArgs(from.args.split(/\s+/)[0]!)).toMatch(/^node:22(\.\d+)*-[a-z]+-slim$/);
  });

  it('build stage: npm ci, then npm run build', () => {
    const runs = inStage('build', 'RUN').map((i) => i.args);
    const ci = runs.findIndex((run) => /\bnpm ci\b/.test(run));
    const build = runs.findIndex((run) => /\bnpm run build\b/.test(run));
    expect(ci).toBeGreaterThanOrEqual(0);
    expect(build).toBeGreaterThan(ci);
  });
});

describe('OHIF viewer', () => {
  it('pins OHIF_VERSION to package.json config.ohifVersion', () => {
    const arg = inStage('ohif', 'ARG').find((i) => i.args.startsWith('OHIF_VERSION='));
    expect(packageJson.config?.ohifVersion).toBeTruthy();
    expect(arg?.args).toBe(`OHIF_VERSION=${packageJson.config!.ohifVersion}`);
  });

  it('fetches @ohif/app@${OHIF_VERSION} with npm pack and takes its dist/', () => {
    const run = inStage('ohif', 'RUN').map((i) => i.args).join('\n');
    expect(run).toMatch(/npm pack "?@ohif\/app@\$\{OHIF_VERSION\}"?/);
    expect(run).toMatch(/package\/dist/);
  });

  it('puts ohif/app-config.js over the stock dist/app-config.js', () => {
    const copy = inStage('ohif', 'COPY').find((i) => i.args.startsWith('ohif/app-config.js'));
    expect(copy?.args).toMatch(/^ohif\/app-config\.js\s+\/ohif\/app-config\.js$/);
    // The viewer folder of this stage is what the runtime stage copies to OHIF_DIST.
    const runtimeCopy = final('COPY').find((i) => i.args.includes('--from=ohif'));
    expect(runtimeCopy?.args).toMatch(/--from=ohif\s+\/ohif\s+\.\/ohif$/);
  });
});

describe('runtime stage', () => {
  const env = final('ENV').map((i) => i.args).join(' ');
  const workdir = final('WORKDIR').at(-1)?.args;

  it('installs production dependencies only', () => {
    expect(final('RUN').some((i) => /\bnpm ci --omit=dev\b/.test(i.args))).toBe(true);
    expect(final('RUN').some((i) => /\bnpm (install|i)\b/.test(i.args))).toBe(false);
  });

  it('sets NODE_ENV=production and OHIF_DIST to the copied viewer', () => {
    expect(env).toMatch(/\bNODE_ENV=production\b/);
    const ohifDist = /\bOHIF_DIST=(\S+)/.exec(env)?.[1];
    expect(ohifDist).toBe('/app/ohif');
    expect(workdir).toBe('/app');
  });

  it('keeps freed memory mapped (glibc malloc trim threshold), as the benchmark runs the gateway', () => {
    expect(/\bGLIBC_TUNABLES=(\S+)/.exec(env)?.[1]).toBe(IMAGE_GLIBC_TUNABLES);
    const threshold = Number(/glibc\.malloc\.trim_threshold=(\d+)/.exec(IMAGE_GLIBC_TUNABLES)?.[1]);
    expect(threshold).toBeGreaterThanOrEqual(64 * 1024 * 1024);
  });

  it('copies the compiled gateway from the build stage, and not realm-export/ or any .env', () => {
    const copies = final('COPY').map((i) => i.args);
    expect(copies).toContain('--from=build /app/dist ./dist');
    expect(copies.some((args) => /realm-export|\.env\b/.test(args))).toBe(false);
  });

  it('runs as the non-root node user', () => {
    const users = final('USER').map((i) => i.args);
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).toBe('node');
    expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/);
    const userAt = instructions.lastIndexOf(final('USER').at(-1)!);
    const cmdAt = instructions.lastIndexOf(final('CMD').at(-1)!);
    expect(userAt).toBeLessThan(cmdAt);
  });

  it('exposes 8080, checks /healthz with node, and starts dist/main.js with the Node flags the benchmark runs it with', () => {
    expect(final('EXPOSE').map((i) => i.args)).toEqual(['8080']);
    const healthcheck = final('HEALTHCHECK').at(-1)?.args ?? '';
    expect(healthcheck).toMatch(/CMD \["node", "healthcheck\.mjs"\]$/);
    expect(final('COPY').map((i) => i.args)).toContain('docker/healthcheck.mjs ./healthcheck.mjs');
    expect(readFileSync(join(DOCKER_DIR, 'healthcheck.mjs'), 'utf8')).toMatch(/['"]\/healthz['"]/);
    expect(final('CMD').at(-1)?.args).toBe(JSON.stringify(['node', ...IMAGE_NODE_FLAGS, 'dist/main.js']).replaceAll(',', ', '));
  });

  it('starts node with the flags the benchmark gives every gateway, as npm start does', () => {
    expect(IMAGE_NODE_FLAGS).toEqual(expect.arrayContaining(['--no-memory-reducer', '--v8-pool-size=1']));
    const packageJson = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(packageJson.scripts['start']).toBe(['node', ...IMAGE_NODE_FLAGS, 'dist/main.js'].join(' '));
  });

  it('bakes no secret into the image', () => {
    expect(/\b\w*(SECRET|PASSWORD|TOKEN)\w*=/i.test(env)).toBe(false);
    expect(instructions.some((i) => i.keyword === 'ARG' && /SECRET|PASSWORD|TOKEN/i.test(i.args))).toBe(false);
  });
});

/** Docker's .dockerignore rules: last matching pattern wins; a pattern also matches every path below. */
function dockerignoreExcludes(patterns: string[], path: string): boolean {
  const toRegex = (pattern: string) =>
    new RegExp(
      `^${pattern
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*\*/g, '\u0000')
        .replace(/\*/g, '[^/]*')
        .replace(/\?/g, '[^/]')
        .replace(/\u0000/g, '.*')}$`,
    );
  const parts = path.split('/');
  const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let excluded = false;
  for (const rawPattern of patterns) {
    const negated = rawPattern.startsWith('!');
    const pattern = (negated ? rawPattern.slice(1) : rawPattern).replace(/^\/+|\/+$/g, '');
    if (!pattern) continue;
    const regex = toRegex(pattern);
    if (candidates.some((candidate) => regex.test(candidate))) excluded = !negated;
  }
  return excluded;
}

describe('build context (.dockerignore at the repository root)', () => {
  const ignoreFile = join(REPO_ROOT, '.dockerignore');
  const patterns = readFileSync(ignoreFile, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  const sources = instructions
    .filter((i) => i.keyword === 'COPY' && !i.args.includes('--from='))
    .flatMap((i) => i.args.split(/\s+/).filter((arg) => !arg.startsWith('--')).slice(0, -1));

  it('lets in every file the Dockerfile copies, and they exist', () => {
    expect(sources).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'src', 'ohif/app-config.js']));
    for (const source of sources) {
      expect({ source, excluded: dockerignoreExcludes(patterns, source) }).toEqual({ source, excluded: false });
      expect({ source, exists: existsSync(join(REPO_ROOT, source)) }).toEqual({ source, exists: true });
    }
    expect(dockerignoreExcludes(patterns, 'src/main.ts')).toBe(false);
  });

  it('keeps secrets, dependencies, build output, tests and dev data out', () => {
    for (const path of [
      '.env',
      'docker/.env',
      'docker/docker-compose.yml',
      'node_modules/express/package.json',
      'dist/main.js',
      '.git/config',
      '.dev-data/orthanc.json',
      'tests/unit/x.test.ts',
      'realm-export/orthanc-realm.json',
      'some-new-file.pem',
    ]) {
      expect({ path, excluded: dockerignoreExcludes(patterns, path) }).toEqual({ path, excluded: true });
    }
  });
});

describe('HEALTHCHECK script (docker/healthcheck.mjs, run with node)', () => {
  const runProbe = (port: number) =>
    new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, [join(DOCKER_DIR, 'healthcheck.mjs')], {
        env: { PATH: process.env['PATH'] ?? '', PORT: String(port) },
        stdio: 'ignore',
      });
      child.once('exit', (code) => resolve(code));
    });
  const withServer = async (status: number, fn: (port: number, seen: string[]) => Promise<void>) => {
    const seen: string[] = [];
    const server = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      await fn((server.address() as AddressInfo).port, seen);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  };

  it('exits 0 when GET /healthz answers 200', async () => {
    await withServer(200, async (port, seen) => {
      expect(await runProbe(port)).toBe(0);
      expect(seen).toEqual(['GET /healthz']);
    });
  });

  it('exits 1 when /healthz answers an error', async () => {
    await withServer(503, async (port) => expect(await runProbe(port)).toBe(1));
  });

  it('exits 1 when nothing listens', async () => {
    let freePort = 0;
    await withServer(200, async (port) => {
      freePort = port;
    });
    expect(await runProbe(freePort)).toBe(1);
  });
});
