/**
 * bench/lib/processes.ts: a bench script stopped by a signal (Ctrl-C, `kill`, a CI timeout) leaves no
 * grandchild running, such as nginx's worker, which setpriv's parent-death signal does not reach.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const PROCESSES = pathToFileURL(join(REPO_ROOT, 'bench/lib/processes.ts')).href;

/** A bench-like script: starts `sh`, which starts a `sleep` grandchild, and prints the grandchild's pid. */
const script = (withHandler: boolean) => `
import { readFileSync } from 'node:fs';
import { exitOnTerminationSignals, spawnLogged } from ${JSON.stringify(PROCESSES)};
${withHandler ? 'exitOnTerminationSignals();' : ''}
const child = spawnLogged('sh', ['-c', 'sleep 300 & wait'], { cwd: process.cwd(), logFile: process.argv[2] });
const grandchild = () => readFileSync('/proc/' + child.pid + '/task/' + child.pid + '/children', 'utf8').trim();
const timer = setInterval(() => {
  if (!grandchild()) return;
  clearInterval(timer);
  console.log(grandchild());
  setInterval(() => undefined, 1000);
}, 20);
`;

/** Running, not a zombie waiting for its parent. */
const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(statusOf(pid));
const statusOf = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return '';
  }
};

async function waitUntil(condition: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (condition()) return true;
    await new Promise((done) => setTimeout(done, 25));
  }
  return condition();
}

describe('bench scripts stopped by a signal', () => {
  let dir: string;
  const started: ChildProcess[] = [];
  const grandchildren: number[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bench-termination-'));
    await writeFile(join(dir, 'with.ts'), script(true));
    await writeFile(join(dir, 'without.ts'), script(false));
  });
  afterEach(() => {
    for (const child of started.splice(0)) child.kill('SIGKILL');
    for (const pid of grandchildren.splice(0)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Runs the script until it printed its grandchild's pid, sends `signal`, and waits for its exit. */
  async function runAndSignal(name: string, signal: NodeJS.Signals) {
    const child = spawn(process.execPath, ['--import', 'tsx', join(dir, name), join(dir, `${name}.log`)], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    started.push(child);
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exit = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    expect(await waitUntil(() => /\d+\n/.test(output), 20_000)).toBe(true);
    const grandchild = Number(output.trim());
    grandchildren.push(grandchild);
    expect(alive(grandchild)).toBe(true);
    child.kill(signal);
    return { code: await exit, grandchild };
  }

  it.each<[NodeJS.Signals, number]>([
    ['SIGTERM', 143],
    ['SIGINT', 130],
    ['SIGHUP', 129],
  ])('%s ends the script with %i and its grandchild with it', async (signal, code) => {
    const result = await runAndSignal('with.ts', signal);
    expect(result.code).toBe(code);
    expect(await waitUntil(() => !alive(result.grandchild), 5_000)).toBe(true);
  }, 30_000);

  it('without the handler, a SIGTERM leaves the grandchild running (what the handler is for)', async () => {
    const result = await runAndSignal('without.ts', 'SIGTERM');
    expect(result.code).toBeNull();
    await new Promise((done) => setTimeout(done, 300));
    expect(alive(result.grandchild)).toBe(true);
  }, 30_000);
});
