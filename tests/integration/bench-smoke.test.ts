/**
 * `npm run bench -- --smoke`: every benchmark workload against every target, a few requests each,
 * so CI proves the harness (bench/) still runs end to end. It measures nothing worth keeping.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import type { BenchResults } from '../../bench/lib/types.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function runSmoke(outDir: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--smoke', `--out=${outDir}`], {
      cwd: REPO_ROOT,
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/tmp' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGINT'), 100_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, output });
    });
  });
}

describe('benchmark harness smoke run', () => {
  it('runs every workload against every target without a failed request', async () => {
    const outDir = await mkdtemp(join(tmpdir(), 'bench-smoke-'));
    try {
      const { code, output } = await runSmoke(outDir);
      if (code !== 0) throw new Error(`bench --smoke exited with ${code}:\n${output.slice(-6000)}`);
      const results = JSON.parse(await readFile(join(outDir, 'smoke.json'), 'utf8')) as BenchResults;
      const seen = new Set(results.points.map((point) => `${point.workload} ${point.target}`));
      for (const workload of ['qido', 'qido-latency', 'frames', 'frames-latency', 'wado-study', 'stow']) {
        for (const target of ['direct', 'nginx', 'gateway-bearer', 'gateway-session']) expect(seen).toContain(`${workload} ${target}`);
      }
      // The floor of a Node proxy is measured on the request points, never on bulk transfers or idle gaps.
      for (const workload of ['qido', 'qido-latency', 'frames', 'frames-latency']) expect(seen).toContain(`${workload} node-proxy`);
      for (const workload of ['wado-study', 'stow', 'idle-gaps']) expect(seen).not.toContain(`${workload} node-proxy`);
      // One-connection points take the targets in turn: every target got the same number of turns, and what each proxy adds is paired with direct Orthanc.
      for (const workload of ['qido-latency', 'frames-latency']) {
        const latency = results.points.filter((point) => point.workload === workload);
        expect(new Set(latency.map((point) => point.load?.requests)).size).toBe(1);
        for (const point of latency) expect(Number.isFinite(point.load?.pairedAddedP50Ms)).toBe(point.target !== 'direct');
      }
      for (const target of ['upstream', 'nginx-1w', 'gateway-1w']) expect(seen).toContain(`trivial ${target}`);
      for (const target of ['nginx', 'gateway-bearer', 'gateway-session']) expect(seen).toContain(`idle-gaps ${target}`);
      for (const target of ['gateway-bearer', 'gateway-session']) {
        const viewers = results.points.find((point) => point.workload === 'viewers' && point.target === target);
        // Every idle connection pinged at least once and was never dropped; the delay came from /metrics.
        expect(viewers?.viewers?.idle.requests).toBeGreaterThanOrEqual(results.settings['viewers'] ? (results.settings['viewers'] as { idleConnections: number }).idleConnections : 1);
        expect([viewers?.viewers?.idle.failed, viewers?.viewers?.idle.reopened]).toEqual([0, 0]);
        expect(viewers?.viewers?.eventLoopDelay?.p99Ms).toBeGreaterThan(0);
        // The pings' own thread measured the gaps between them: some, and well under the gateway's 5 s keep-alive.
        expect(viewers?.viewers?.idle.maxGapMs).toBeGreaterThan(0);
        expect(viewers?.viewers?.idle.maxGapMs).toBeLessThan(5_000);
      }
      // Page faults come from /proc for every metered proxy: a count, and some point made the gateway touch new memory.
      const proxies = results.points.flatMap((point) => (point.proxy ? [point.proxy] : []));
      expect(proxies.every((proxy) => Number.isInteger(proxy.minorFaults) && proxy.minorFaults >= 0)).toBe(true);
      expect(proxies.some((proxy) => proxy.kind === 'gateway' && proxy.minorFaults > 0)).toBe(true);
      for (const point of results.points) {
        if (point.load) expect(point.load.requests).toBeGreaterThan(0);
        if (point.transfer) expect(point.transfer.statuses.every((status) => status === 200)).toBe(true);
      }
      expect(results.checks.find((check) => check.name.startsWith('failed requests'))?.value).toBe(0);
      // Every issue-16 target is computed from the run's points (a ratio with a verdict). Only a CPU
      // ratio may stay blank here: nginx may not use one 10 ms CPU tick in the smoke run's tiny transfers.
      expect(results.checks.length).toBeGreaterThanOrEqual(30);
      const blank = results.checks.filter((check) => check.value === null || check.pass === null).map((check) => check.name);
      expect(blank.filter((name) => !/CPU per (request|MB) ÷ nginx( \(floor\))?$/.test(name))).toEqual([]);
      // Node process warnings are per request when they come (a listener-leak warning once cost more than the request).
      expect(Object.values(results.gatewayWarnings).flat().filter((line) => /Warning/.test(line))).toEqual([]);
    } finally {
      await rm(outDir, { recursive: true, force: true });
    }
  }, 120_000);
});
