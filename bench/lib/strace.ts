import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { processTree } from './procstat.js';

export interface SyscallCounts<T> {
  /** What `work` resolved to. */
  result: T;
  total: number;
  /** Calls by name, most frequent first. */
  calls: Array<{ name: string; calls: number }>;
}

/** System calls of a process tree while `work` runs (strace -c -f, attached to `pid` and its children, e.g. nginx's workers); its summary lands in `dir`. */
export async function countSyscalls<T>(pid: number, dir: string, work: () => Promise<T>): Promise<SyscallCounts<T>> {
  const output = join(dir, `strace-${pid}-${Date.now()}.txt`);
  const strace = spawn('strace', ['-c', '-f', '-o', output, ...processTree(pid).flatMap((id) => ['-p', String(id)])], { stdio: 'ignore' });
  await new Promise((resolve) => setTimeout(resolve, 500)); // attached
  const result = await work();
  const exited = new Promise((resolve) => strace.once('exit', resolve));
  strace.kill('SIGINT');
  await exited;
  const rows = (await readFile(output, 'utf8')).split('\n').map((line) => line.trim().split(/\s+/)).filter((f) => f.length >= 5 && /^\d/.test(f[0]!));
  const calls = rows.map((f) => ({ name: f[f.length - 1]!, calls: Number(f[3]) })).filter((r) => r.name !== 'total' && Number.isFinite(r.calls));
  return { result, total: calls.reduce((sum, r) => sum + r.calls, 0), calls: calls.sort((a, b) => b.calls - a.calls) };
}
