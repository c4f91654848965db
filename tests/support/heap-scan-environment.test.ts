import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ENVIRONMENT = resolve('tests/support/heap-scan-environment.cjs');
const JEST = resolve('node_modules/jest/bin/jest.js');

/** Jest on two suites of a scratch folder with the heap scan environment, in one worker; its stderr. */
async function heapScanOf(dir: string, nodeFlags: readonly string[]): Promise<string> {
  const config = JSON.stringify({ rootDir: dir, testEnvironment: ENVIRONMENT, testMatch: ['**/*.test.cjs'] });
  const { stderr } = await run(process.execPath, [...nodeFlags, JEST, '--config', config, '--runInBand', '--ci'], {
    cwd: dir,
    timeout: 60_000,
  });
  return stderr;
}

describe('JEST_HEAP_SCAN environment', () => {
  let dir = '';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'heap-scan-'));
    await writeFile(join(dir, 'small.test.cjs'), "test('small', () => expect(1).toBe(1));\n");
    // 40 MB kept by a module-level variable of the suite (like DICOM test data), freed with the suite's registry
    await writeFile(join(dir, 'large.test.cjs'), "const data = Buffer.alloc(40 * 1024 * 1024, 1);\ntest('large', () => expect(data[0]).toBe(1));\n");
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints after every suite its worker heap, array buffers and RSS with their growth, collecting garbage first', async () => {
    const stderr = await heapScanOf(dir, ['--expose-gc']);
    const lines = stderr.split('\n').filter((line) => line.startsWith('heap scan '));
    expect(lines.map((line) => /after (\S+):/.exec(line)?.[1]).sort()).toEqual(['large.test.cjs', 'small.test.cjs']);
    for (const line of lines) {
      expect(line).toMatch(/^heap scan \[pid \d+\] after \S+: heap [\d.]+ MB \([+-][\d.]+ MB\), array buffers [\d.]+ MB \([+-][\d.]+ MB\), rss [\d.]+ MB$/);
    }
    const large = lines.find((line) => line.includes('large.test.cjs')) ?? '';
    expect(Number(/array buffers ([\d.]+) MB/.exec(large)?.[1])).toBeGreaterThanOrEqual(40);
  });

  it('says so when node runs without --expose-gc', async () => {
    const stderr = await heapScanOf(dir, []);
    expect(stderr).toContain('[no --expose-gc: garbage not collected first]');
  });
});
