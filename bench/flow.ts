/**
 * Flow probe for bulk downloads (bench/README.md, Issue 16, section 16): how fast one large body
 * moves through each proxy when the upstream is not the bottleneck (nginx serving a static file of
 * --mb MB with sendfile), rounds alternating in order, MB/s and the proxy's CPU per MB.
 *
 *   node --import tsx bench/flow.ts [--mb=210] [--rounds=5] [--scripts=node-proxy.mjs,node-proxy-window.mjs] [--scripts-root=DIR] [--strace]
 *
 * Targets: nginx as the bench runs it (proxy_buffering off) and each bare node:http proxy script
 * (in DIR/bench, default this checkout's bench/); `WINDOW=<bytes>` reaches node-proxy-window.mjs.
 * `--strace`: then one more download per proxy under `strace -c -f`, system calls per MB.
 * `--plain-children`: GLIBC_TUNABLES for this process (the client) only, not for the proxies it starts.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { download, median } from './lib/load.js';
import { countSyscalls } from './lib/strace.js';
import { exitOnTerminationSignals, startNginx, nginxProxySite, startNodeProxy, type BenchProcess } from './lib/processes.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const option = (name: string) => process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
const megabytes = Number(option('mb') ?? 210);
const rounds = Number(option('rounds') ?? 5);
const scripts = (option('scripts') ?? 'node-proxy.mjs').split(',');
const withStrace = process.argv.includes('--strace');
const scriptsRoot = resolve(option('scripts-root') ?? REPO_ROOT);

/** User + system CPU seconds of a process and its threads, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function main() {
  if (process.argv.includes('--plain-children')) delete process.env['GLIBC_TUNABLES']; // glibc read it at this process's start
  const dir = await mkdtemp(join(tmpdir(), 'bench-flow-'));
  await writeFile(join(dir, 'body.bin'), Buffer.alloc(megabytes * 1e6, 7));
  const staticSite = (port: number) => ({ workers: 1, servers: `  server {\n    listen 127.0.0.1:${port};\n    sendfile on;\n    location / { root ${dir}; }\n  }` });
  const upstream = await startNginx('static', staticSite);
  const nginx = await startNginx('proxy', nginxProxySite(upstream.url, 'Basic eDp5', 1));
  const proxies: { name: string; url: string; pid: () => number; stop: () => Promise<void> }[] = [];
  proxies.push({ name: 'nginx', url: nginx.url, pid: () => workerPid(nginx.pid), stop: () => nginx.stop() });
  for (const script of scripts) {
    const proc: BenchProcess & { url: string } = await startNodeProxy(dir, scriptsRoot, upstream.url, 'Basic eDp5', script);
    proxies.push({ name: script, url: proc.url, pid: () => proc.pid, stop: () => proc.stop() });
  }
  const results = new Map<string, { mbs: number[]; cpu: number[] }>(proxies.map((p) => [p.name, { mbs: [], cpu: [] }]));
  try {
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 ? [...proxies].reverse() : proxies;
      for (const proxy of order) {
        const before = cpuSeconds(proxy.pid());
        const result = await download({ base: proxy.url, prefix: '', headers: {} }, '/body.bin', '*/*');
        if (result.status !== 200 || result.bytes !== megabytes * 1e6) throw new Error(`${proxy.name}: ${result.status}, ${result.bytes} bytes`);
        const entry = results.get(proxy.name)!;
        entry.mbs.push(result.bytes / 1e6 / result.seconds);
        entry.cpu.push(((cpuSeconds(proxy.pid()) - before) * 1000) / megabytes);
      }
    }
    if (withStrace) {
      for (const proxy of proxies) {
        const calls = await syscalls(proxy.pid(), dir, () => download({ base: proxy.url, prefix: '', headers: {} }, '/body.bin', '*/*'));
        console.log(`${proxy.name.padEnd(28)} system calls per MB: ${calls}`);
      }
    }
  } finally {
    for (const proxy of proxies) await proxy.stop();
    await upstream.stop();
    await rm(dir, { recursive: true, force: true });
  }
  const nginxMbs = median(results.get('nginx')!.mbs);
  for (const [name, { mbs, cpu }] of results) {
    console.log(`${name.padEnd(28)} ${median(mbs).toFixed(1).padStart(7)} MB/s (${mbs.map((v) => v.toFixed(0)).join(', ')}) ${(median(mbs) / nginxMbs).toFixed(2)} × nginx  CPU ${median(cpu).toFixed(2)} ms/MB`);
  }
}

/** System calls of a process (its threads too) while `work` runs, per MB, the top ones by count. */
async function syscalls(pid: number, dir: string, work: () => Promise<unknown>): Promise<string> {
  const { total, calls } = await countSyscalls(pid, dir, work);
  const top = calls.slice(0, 6).map((r) => `${r.name} ${(r.calls / megabytes).toFixed(1)}`);
  return `${(total / megabytes).toFixed(1)} (${top.join(', ')})`;
}

/** nginx runs a master and one worker: the worker does the proxying. */
function workerPid(master: number): number {
  const children = readFileSync(`/proc/${master}/task/${master}/children`, 'utf8').trim().split(/\s+/).map(Number);
  return children[0]!;
}

exitOnTerminationSignals(); // a Ctrl-C or kill leaves no nginx worker behind
await main();
