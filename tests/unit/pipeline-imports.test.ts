/**
 * The import rule of src/: the folders are the request pipeline (README "How a request flows"), and
 * imports point only back to stages a request has already passed, or down to shared leaves. No
 * stage reaches into a later one; no leaf reaches into a stage.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import ts from 'typescript';

/** The stages, in the order a request meets them. */
const STAGES = ['request', 'authenticate', 'authorize', 'upstream'];
/** Where a request is answered by the gateway itself: they may use every stage, but not each other. */
const EXITS = ['pages', 'ops'];
/** What the pipeline shares; a leaf imports only leaves. */
const LEAVES = ['errors.ts', 'config', 'cache', 'canonical', 'respond', 'orthanc', 'observability', 'policy', 'auth', 'share', 'audit', 'keycloak-setup', 'devidp'];
/** The wiring (app.ts: the pipeline as one list; the process around it): may import anything; only wiring imports it. */
const WIRING = ['app.ts', 'pipeline.ts', 'components.ts', 'server.ts', 'main.ts', 'express-objects.ts', 'startup'];

type Layer = { kind: 'stage'; rank: number } | { kind: 'exit' } | { kind: 'leaf' } | { kind: 'wiring' };

const folderOf = (path: string) => path.split('/')[0]!;

/** The layer of a path relative to src/, by its first segment; undefined for a folder nobody placed. */
function layerOf(path: string): Layer | undefined {
  const top = folderOf(path);
  if (STAGES.includes(top)) return { kind: 'stage', rank: STAGES.indexOf(top) };
  if (EXITS.includes(top)) return { kind: 'exit' };
  if (LEAVES.includes(top)) return { kind: 'leaf' };
  if (WIRING.includes(top)) return { kind: 'wiring' };
  return undefined;
}

/** Whether `from` may import `to` (both relative to src/). */
function mayImport(from: string, to: string): boolean {
  if (folderOf(from) === folderOf(to)) return true;
  const source = layerOf(from);
  const target = layerOf(to);
  if (!source || !target) return false;
  if (source.kind === 'wiring') return true;
  switch (target.kind) {
    case 'wiring':
    case 'exit':
      return false;
    case 'leaf':
      return true;
    case 'stage':
      return source.kind === 'exit' || (source.kind === 'stage' && target.rank < source.rank);
  }
}

describe('mayImport', () => {
  it.each([
    ['authorize/authorize.ts', 'request/classify.ts', true],
    ['request/classify.ts', 'authorize/authorize.ts', false],
    ['upstream/proxy.ts', 'authenticate/authenticate.ts', true],
    ['authenticate/authenticate.ts', 'upstream/proxy.ts', false],
    ['request/classify.ts', 'policy/routes.ts', true],
    ['policy/routes.ts', 'request/classify.ts', false],
    ['respond/refusal.ts', 'auth/bearer.ts', true],
    ['pages/share-routes.ts', 'authorize/study-lookup.ts', true],
    ['upstream/proxy.ts', 'pages/viewer.ts', false],
    ['pages/viewer.ts', 'ops/ops-routes.ts', false],
    ['app.ts', 'upstream/proxy.ts', true],
    ['upstream/proxy.ts', 'app.ts', false],
    ['policy/evaluate.ts', 'components.ts', false],
    ['unplaced/new.ts', 'errors.ts', false],
  ])('%s → %s: %s', (from, to, allowed) => {
    expect(mayImport(from, to)).toBe(allowed);
  });
});

const SRC = join(process.cwd(), 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

const srcRelative = (file: string) => relative(SRC, file).split(sep).join('/');

/** Every relative module a file names: static, type-only and dynamic imports, re-exports. */
function importsOf(file: string): string[] {
  const from = srcRelative(file);
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return importedFiles
    .map(({ fileName }) => fileName)
    .filter((name) => name.startsWith('.'))
    .map((name) => posix.normalize(posix.join(posix.dirname(from), name)).replace(/\.js$/, '.ts'));
}

describe('src/ imports follow the pipeline', () => {
  const files = sourceFiles(SRC);
  const names = files.map(srcRelative);
  const edges = files.flatMap((file) => importsOf(file).map((to) => ({ from: srcRelative(file), to })));

  it('reads the sources', () => {
    expect(names.length).toBeGreaterThan(100);
    expect(edges.length).toBeGreaterThan(300);
  });

  it('every folder and top-level file of src/ is placed: a stage, an exit, a leaf or the wiring', () => {
    expect([...new Set(names.map(folderOf))].filter((top) => !layerOf(top))).toEqual([]);
  });

  it('every stage and exit named here exists', () => {
    expect([...STAGES, ...EXITS].filter((folder) => !names.some((name) => folderOf(name) === folder))).toEqual([]);
  });

  it('no import reaches into a later stage, an exit or the wiring', () => {
    expect(edges.filter(({ from, to }) => !mayImport(from, to)).map(({ from, to }) => `${from} → ${to}`)).toEqual([]);
  });
});
