/**
 * CPU time per request, A/B, on a busy machine: a fixed number of requests per point (not a fixed
 * time, so a starved process still gets warm), the targets interleaved round by round (A B A B…, so
 * slow drift in other load hits all alike), the median of the rounds. Throughput and latency are not
 * reported here: on a shared machine they measure the other work (`npm run bench` does, when idle).
 *
 *   node --import tsx bench/cpu.ts                       this checkout: trivial upstream + Orthanc (QIDO, frames)
 *   node --import tsx bench/cpu.ts --base=DIR            also a gateway built from another checkout (`git archive`), as `base-*`
 *   node --import tsx bench/cpu.ts --only=trivial,frames,wado --requests=3000 --rounds=4 --connections=8
 *   node --import tsx bench/cpu.ts --only=stow --stow-instances=100 [--stow-chunked]   STOW-RS uploads (CPU per MB), the bare node proxy included
 *   node --import tsx bench/cpu.ts --profile             this checkout's gateways with --cpu-prof (summary printed)
 *   node --import tsx bench/cpu.ts --profile-dir=DIR     the same, and the .cpuprofile files kept in DIR
 *   node --import tsx bench/cpu.ts --undici              also the bare proxy on undici's Pool (bench/node-proxy-undici.mjs), and both bare proxies before Orthanc
 *   node --import tsx bench/cpu.ts --node-proxies=node-proxy.mjs,node-proxy-x.mjs   bare-proxy variants (scripts in bench/) instead
 *   node --import tsx bench/cpu.ts --only=qido --node-proxies=node-proxy.mjs,node-proxy-keepalive.mjs,node-proxy-keepalive-rewrite.mjs
 *                                                        the QIDO floor: bare proxies reusing their connections to Orthanc, with and without the URL rewrite
 *   node --import tsx bench/cpu.ts --base=. --base-flags=--max-semi-space-size=64   the same code with other Node flags as `base-*`
 *   node --import tsx bench/cpu.ts --base=. --gateway-env=GLIBC_TUNABLES=glibc.malloc.trim_threshold=67108864   …or another environment (--base-env too)
 *   node --import tsx bench/cpu.ts --base=. --only=qido --claims='{"sites":["BENCH"]}' --gateway-env=STUDY_ACCESS_CLAIM=sites,STUDY_ACCESS_ATTRIBUTE=PatientIDPrefix
 *                                                        the study-access search filter on (this checkout) against off (`base-*`)
 *   node --import tsx bench/cpu.ts --strace              plus one round under `strace -c -f`: system calls per request, by call
 *   node --import tsx bench/cpu.ts --only=trivial --upstream-delay=20   the trivial answer after 20 ms, no CPU meanwhile (QIDO's pattern without Orthanc)
 *   node --import tsx bench/cpu.ts --only=qido --idle=30 after the points, each process's CPU and wake-ups per second with no request (timers)
 *   node --import tsx bench/cpu.ts --only=frames,frames-1  frames at --connections, then at one connection on the same
 *                                                        gateway processes (the order of `npm run bench`); CPU per
 *                                                        request by thread (main, V8 workers, libuv pool) for each
 *   node --import tsx bench/cpu.ts --base=/tmp/same-tree --only=frames-1 --preload=4000
 *                                                        the 8-connection frames load sent first to this checkout's
 *                                                        gateway only: a loaded process against a fresh one, same code
 *   node --import tsx bench/cpu.ts --perf                perf record of each gateway during each workload (kept with --keep)
 *   node --import tsx bench/cpu.ts --perf=page-faults    the same, sampling page faults (whose memory is touched afresh)
 *   node --import tsx bench/cpu.ts --only=frames-1,qido-1 --latency --node-proxies=node-proxy.mjs
 *                                                        also each target's p50 / p90 latency (medians of the rounds), and
 *                                                        direct Orthanc as a target: what each proxy adds, interleaved
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRedis } from '../tests/support/redis.js';
import { startTestIssuer } from '../tests/support/test-issuer.js';
import { makeBenchSeries } from './lib/data.js';
import { download, median, requestLoad, upload, type Endpoint } from './lib/load.js';
import { deleteStudy, startBenchOrthanc, uploadAll, type BenchOrthanc } from './lib/orthanc.js';
import { ForeignLoadMeter, UsageMeter, round, threadCpuSeconds } from './lib/procstat.js';
import { exitOnTerminationSignals, nginxProxySite, startDelayedUpstream, startGatewayProcess, startNginx, startNodeProxy, trivialUpstreamSite } from './lib/processes.js';
import { summarizeProfiles } from './lib/profile.js';
import { createSessionCookie } from './lib/session.js';
import { countSyscalls } from './lib/strace.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SESSION_SECRET = 'bench-session-secret-0123456789abcdef0123456789';
const ACCEPT_JSON = 'application/dicom+json';
const ACCEPT_FRAMES = 'multipart/related; type="application/octet-stream"; transfer-syntax=*';

const option = (name: string) => process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
const requests = Number(option('requests') ?? 3000);
const rounds = Number(option('rounds') ?? 4);
const connectionsOption = Number(option('connections') ?? 8);
const only = option('only')?.split(',') ?? ['trivial', 'qido', 'frames', 'wado'];
const baseRoot = option('base') ? resolve(option('base')!) : undefined;
const profileDir = option('profile-dir');
const profile = process.argv.includes('--profile') || profileDir !== undefined;
const withStrace = process.argv.includes('--strace');
const withUndici = process.argv.includes('--undici');
/** Latency percentiles per target too, with direct Orthanc among the targets (the reference for "added"). */
const withLatency = process.argv.includes('--latency');
/** `perf record` of each gateway process during each workload's measured rounds (files kept with --keep). */
const withPerf = process.argv.includes('--perf') || option('perf') !== undefined;
/** `--perf=page-faults`: sample every 20th page fault with its call chain instead of CPU time. */
const perfEvent = option('perf') === 'page-faults' ? ['-e', 'page-faults', '-c', '20'] : ['-F', '499'];
/** Frames sent at --connections to this checkout's gateways (not the base's) before the 1-connection frames point. */
const preload = Number(option('preload') ?? 0);
/** Bare proxies measured next to the gateway (scripts in bench/, same arguments as node-proxy.mjs). */
const nodeProxyScripts = option('node-proxies')?.split(',') ?? (withUndici ? ['node-proxy.mjs', 'node-proxy-undici.mjs'] : ['node-proxy.mjs']);
const bareProxiesBeforeOrthanc = withUndici || option('node-proxies') !== undefined;
/** STOW-RS: instances (~513 kB each) per upload, and whether the body is sent chunked instead of with a Content-Length. */
const stowInstances = Number(option('stow-instances') ?? 100);
const stowChunked = process.argv.includes('--stow-chunked');
/** `--upstream-delay=MS`: the trivial point's upstream answers after MS milliseconds (QIDO's request pattern without Orthanc's CPU). */
const upstreamDelayMs = Number(option('upstream-delay') ?? 0);
/** `--idle=SECONDS`: after the request points, each process's CPU and wake-ups per second while nothing is sent to it (its timers). */
const idleSeconds = Number(option('idle') ?? 0);
/** Extra Node flags for this checkout's gateway and for the base's (comma-separated). */
const extraFlags = { gateway: option('gateway-flags')?.split(',') ?? [], base: option('base-flags')?.split(',') ?? [] };
/** Extra environment of this checkout's gateway and of the base's (`NAME=value`, comma-separated), e.g. GLIBC_TUNABLES. */
const envOption = (name: string): Record<string, string> =>
  Object.fromEntries((option(name)?.split(',') ?? []).map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
const extraEnv = { gateway: envOption('gateway-env'), base: envOption('base-env') };
/** Extra claims of the benchmark's access token (JSON), e.g. a study-access claim for `--gateway-env=STUDY_ACCESS_CLAIM=…`. */
const extraClaims = JSON.parse(option('claims') ?? '{}') as Record<string, unknown>;
const log = (message: string) => console.log(`[cpu ${new Date().toISOString().slice(11, 19)}] ${message}`);

interface Target {
  name: string;
  endpoint: Endpoint;
  /** The process tree metered; none for the upstream itself. */
  pid?: number;
}

function build(root: string): string[] {
  const outDir = join(root, '.bench-build');
  try {
    execFileSync(process.execPath, [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', outDir], { cwd: root, stdio: 'pipe' });
  } catch {
    /* type errors elsewhere do not stop tsc from emitting */
  }
  return [join(outDir, 'main.js')];
}

/** System calls of a process tree while `work` runs (strace -c -f), by call: count per request (or per `unit`, `work`'s count). */
async function syscallsPerRequest(pid: number, dir: string, work: () => Promise<number>, unit = 'request'): Promise<string> {
  const { result: count, total, calls } = await countSyscalls(pid, dir, work);
  const top = calls.slice(0, 6).map((r) => `${r.name} ${round(r.calls / count, 2)}`);
  return `${round(total / count, 2)} syscalls/${unit} (${top.join(', ')})`;
}

/** Rounds of `requests` requests against each target in turn (reversed every other round); median CPU ms per request of each. */
async function measure(workload: string, targets: Target[], paths: string[], accept: string, connections = connectionsOption, upstreamPid?: number): Promise<void> {
  const cpu = new Map<string, number[]>(targets.map((target) => [target.name, []]));
  const latency = new Map<string, Array<{ p50: number; p90: number }>>(targets.map((target) => [target.name, []]));
  // The upstream's CPU per request while each target is loaded: a target may cost Orthanc more (or
  // starve it on two cores), which throughput sees and the target's own CPU does not.
  const upstreamCpu = new Map<string, number[]>(targets.map((target) => [target.name, []]));
  const threads = new Map<string, { requests: number; seconds: Map<string, number> }>();
  const foreign: number[] = [];
  for (const target of targets) await requestLoad(target.endpoint, paths, { connections, seconds: 60, amount: Math.ceil(requests / 3), accept }); // warm-up
  const recorders = withPerf ? [...new Set(targets.filter((t) => t.name !== 'nginx' && t.pid).map((t) => t.pid!))].map((pid) => perfRecord(pid, workload)) : [];
  for (let round_ = 0; round_ < rounds; round_++) {
    // Every other round in reverse order: on frames the position in a round alone moved a gateway's
    // cost by up to 2 × (bench/README.md, "Issue 16", section 5); use an even number of rounds.
    for (const target of round_ % 2 === 0 ? targets : [...targets].reverse()) {
      const other = new ForeignLoadMeter();
      const meter = target.pid ? new UsageMeter(target.pid) : undefined;
      const upstreamMeter = upstreamPid ? new UsageMeter(upstreamPid) : undefined;
      const threadsBefore = target.pid ? threadCpuSeconds(target.pid) : undefined;
      const result = await requestLoad(target.endpoint, paths, { connections, seconds: 600, amount: requests, accept });
      const usage = meter?.stop();
      const upstreamUsage = upstreamMeter?.stop();
      if (upstreamUsage) upstreamCpu.get(target.name)!.push((upstreamUsage.cpuSeconds * 1000) / result.requests);
      if (threadsBefore) addThreadCpu(threads, target.name, threadsBefore, threadCpuSeconds(target.pid!), result.requests);
      foreign.push(other.share());
      const failed = result.non2xx + result.errors + result.timeouts;
      if (failed) throw new Error(`${workload} ${target.name}: ${failed} failed requests ${JSON.stringify(result.statusCodes)}`);
      if (usage) cpu.get(target.name)!.push((usage.cpuSeconds * 1000) / result.requests);
      latency.get(target.name)!.push({ p50: result.p50Ms, p90: result.p90Ms });
    }
  }
  await Promise.all(recorders.map(stopRecorder));
  if (withStrace) {
    for (const target of targets.filter((t) => t.pid)) {
      const line = await syscallsPerRequest(target.pid!, straceDir, async () => (await requestLoad(target.endpoint, paths, { connections, seconds: 600, amount: Math.ceil(requests / 3), accept })).requests);
      log(`  ${target.name.padEnd(18)} ${line}`);
    }
  }
  const value = (name: string) => (cpu.get(name)?.length ? round(median(cpu.get(name)!), 4) : undefined);
  const reference = value('nginx');
  log(`${workload}: ${requests} requests × ${rounds} rounds, ${connections} connections, other work ${Math.round(median(foreign) * 100)} % CPU (median)`);
  for (const target of targets.filter((t) => t.pid)) {
    const ms = value(target.name)!;
    const all = cpu.get(target.name)!.map((v) => round(v, 3)).join(' / ');
    log(`  ${target.name.padEnd(18)} ${ms.toFixed(4)} ms CPU/request${reference && target.name !== 'nginx' ? `  × nginx ${round(ms / reference, 2)}` : ''}  (rounds: ${all})`);
    if (upstreamPid) log(`  ${''.padEnd(18)} upstream (Orthanc) ${round(median(upstreamCpu.get(target.name)!), 3)} ms CPU/request  (rounds: ${upstreamCpu.get(target.name)!.map((v) => round(v, 3)).join(' / ')})`);
    log(`  ${''.padEnd(18)} by thread, ms/request over all rounds (sleeps / preempted: voluntary / involuntary context switches; faults: minor page faults): ${threadShares(threads.get(target.name))}`);
  }
  if (withLatency) logLatency(latency);
}

/** CPU ms and main-thread wake-ups (voluntary context switches) per idle second of each process, metered together over `idleSeconds`. */
async function measureIdle(targets: Target[]): Promise<void> {
  const processes = [...new Map(targets.filter((t) => t.pid).map((t) => [t.pid!, t.name.replace(/-(bearer|session)$/, '')])).entries()];
  const before = processes.map(([pid]) => ({ usage: new UsageMeter(pid), threads: threadCpuSeconds(pid) }));
  await new Promise((resolve) => setTimeout(resolve, idleSeconds * 1000));
  log(`idle: ${idleSeconds} s with no request`);
  processes.forEach(([pid, name], index) => {
    const { usage, threads } = before[index]!;
    const cpuMs = (usage.stop().cpuSeconds * 1000) / idleSeconds;
    const sleeps = ((threadCpuSeconds(pid).get('main sleeps') ?? 0) - (threads.get('main sleeps') ?? 0)) * 1000;
    log(`  ${name.padEnd(18)} ${round(cpuMs, 2)} ms CPU/s, main thread woken ${round(sleeps / idleSeconds, 1)} times/s`);
  });
}

/** Median p50 / p90 of each target's rounds; with a `direct` target, what each proxy adds to it. */
function logLatency(latency: Map<string, Array<{ p50: number; p90: number }>>): void {
  const medians = (name: string) => ({ p50: median(latency.get(name)!.map((r) => r.p50)), p90: median(latency.get(name)!.map((r) => r.p90)) });
  const direct = latency.has('direct') ? medians('direct') : undefined;
  for (const [name, rounds_] of latency) {
    const { p50, p90 } = medians(name);
    const added = direct && name !== 'direct' ? `  p50 added ${round(p50 - direct.p50, 3)} ms, p90 ÷ direct ${round(p90 / direct.p90, 2)}` : '';
    log(`  ${name.padEnd(18)} latency p50 ${round(p50, 3)} ms, p90 ${round(p90, 3)} ms${added}  (p50 rounds: ${rounds_.map((r) => round(r.p50, 3)).join(' / ')})`);
  }
}

/** Adds one round's CPU seconds per thread name (after − before) to a target's totals. */
function addThreadCpu(totals: Map<string, { requests: number; seconds: Map<string, number> }>, name: string, before: Map<string, number>, after: Map<string, number>, requestCount: number): void {
  const entry = totals.get(name) ?? { requests: 0, seconds: new Map<string, number>() };
  entry.requests += requestCount;
  for (const [thread, seconds] of after) entry.seconds.set(thread, (entry.seconds.get(thread) ?? 0) + seconds - (before.get(thread) ?? 0));
  totals.set(name, entry);
}

/** Each thread class's CPU (ms per request), then the counts per request (context switches, page faults), in a fixed order. */
function threadShares(entry: { requests: number; seconds: Map<string, number> } | undefined): string {
  if (!entry?.requests) return '–';
  const perRequest = (key: string) => round(((entry.seconds.get(key) ?? 0) * 1000) / entry.requests, 3);
  const cpu = ['main user', 'main system', 'helpers user', 'helpers system'].map((key) => `${key} ${perRequest(key)}`);
  const counts = ['main sleeps', 'main preempted', 'helpers sleeps', 'helpers preempted', 'faults'].map((key) => `${key} ${perRequest(key)}`);
  return `${cpu.join(', ')}; per request: ${counts.join(', ')}`;
}

let straceDir = tmpdir();

function perfRecord(pid: number, workload: string): ChildProcess {
  const output = join(straceDir, `perf-${pid}-${workload.replace(/\W+/g, '-')}.data`);
  log(`  perf record of ${pid}: ${output}`);
  return spawn('perf', ['record', ...perfEvent, '-g', '-o', output, '-p', String(pid)], { stdio: 'ignore' });
}

async function stopRecorder(recorder: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => recorder.once('exit', resolve));
  recorder.kill('SIGINT');
  await exited;
}

/** WADO-RS retrieves of a whole study (close-delimited multipart from Orthanc), `rounds` × 4 per target: median CPU ms per MB. */
async function measureTransfer(targets: Target[], path: string, accept: string): Promise<void> {
  const perMb = await perMegabyte(targets, async (target) => {
    let bytes = 0;
    for (let run = 0; run < 4; run++) {
      const result = await download(target.endpoint, path, accept);
      if (result.status !== 200) throw new Error(`wado ${target.name}: status ${result.status}`);
      bytes += result.bytes;
    }
    return bytes;
  });
  logPerMegabyte(`wado (study retrieve): 4 × ${rounds} rounds`, targets, perMb);
}

/** CPU ms per MB of each target from `rounds` passes of `once` over them (reversed every other round, as in `measure`), and the kernel's part of it. */
async function perMegabyte(targets: Target[], once: (target: Target) => Promise<number>): Promise<PerMegabyte> {
  const cpu = new Map<string, number[]>(targets.map((target) => [target.name, []]));
  const system = new Map<string, number[]>(targets.map((target) => [target.name, []]));
  const faults = new Map<string, number[]>(targets.map((target) => [target.name, []]));
  const peakRssMb = new Map<string, number>();
  for (let round_ = 0; round_ < rounds; round_++) {
    for (const target of round_ % 2 === 0 ? targets : [...targets].reverse()) {
      const meter = target.pid ? new UsageMeter(target.pid) : undefined;
      const megabytes = (await once(target)) / 1e6;
      const usage = meter?.stop();
      if (!usage) continue;
      cpu.get(target.name)!.push((usage.cpuSeconds * 1000) / megabytes);
      system.get(target.name)!.push((usage.systemSeconds * 1000) / megabytes);
      faults.get(target.name)!.push(usage.minorFaults / megabytes);
      peakRssMb.set(target.name, Math.max(peakRssMb.get(target.name) ?? 0, usage.peakRssMb));
    }
  }
  return { cpu, system, faults, peakRssMb };
}

interface PerMegabyte {
  cpu: Map<string, number[]>;
  /** The kernel's part (stime) of `cpu`. */
  system: Map<string, number[]>;
  /** Minor page faults per MB. */
  faults: Map<string, number[]>;
  /** The highest RSS of each target's process tree during its passes. */
  peakRssMb: Map<string, number>;
}

function logPerMegabyte(title: string, targets: Target[], { cpu, system, faults, peakRssMb }: PerMegabyte, foreign: number[] = []): void {
  log(`${title}${foreign.length ? `, other work ${Math.round(median(foreign) * 100)} % CPU (median)` : ''}`);
  const reference = median(cpu.get('nginx') ?? [NaN]);
  for (const target of targets.filter((t) => t.pid)) {
    const ms = round(median(cpu.get(target.name)!), 3);
    const kernel = round(median(system.get(target.name)!), 3);
    const faulted = Math.round(median(faults.get(target.name)!));
    log(`  ${target.name.padEnd(18)} ${ms} ms CPU/MB (kernel ${kernel}, ${faulted} page faults/MB, peak RSS ${peakRssMb.get(target.name)} MB)${target.name !== 'nginx' ? `  × nginx ${round(ms / reference, 2)}` : ''}  (rounds: ${cpu.get(target.name)!.map((v) => round(v, 3)).join(' / ')})`);
  }
}

/**
 * STOW-RS uploads of one study (the same files each time, the study deleted from Orthanc before
 * every upload, as `npm run bench` does): median CPU ms per MB of request body.
 */
async function measureUpload(targets: Target[], orthanc: BenchOrthanc, files: Buffer[], studyInstanceUid: string): Promise<void> {
  const foreign: number[] = [];
  const once = async (target: Target) => {
    await deleteStudy(orthanc, studyInstanceUid);
    const other = new ForeignLoadMeter();
    const result = await upload(target.endpoint, '/studies', files, {}, { chunked: stowChunked });
    foreign.push(other.share());
    if (result.status !== 200) throw new Error(`stow ${target.name}: status ${result.status} ${result.body.slice(0, 300)}`);
    return result.bytes;
  };
  for (const target of targets) await once(target); // warm-up
  const perMb = await perMegabyte(targets, once);
  const megabytes = files.reduce((sum, file) => sum + file.length, 0) / 1e6;
  logPerMegabyte(`stow (${files.length} instances, ${megabytes.toFixed(0)} MB${stowChunked ? ', chunked' : ''}): ${rounds} rounds`, targets, perMb, foreign);
  if (withStrace) {
    for (const target of targets.filter((t) => t.pid)) {
      const line = await syscallsPerRequest(target.pid!, straceDir, async () => (await once(target)) / 1e6, 'MB');
      log(`  ${target.name.padEnd(18)} ${line}`);
    }
  }
  await deleteStudy(orthanc, studyInstanceUid);
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'gateway-cpu-'));
  straceDir = dir;
  // --keep: leave the gateways' logs (e.g. their --trace-gc output) in the temporary folder.
  const cleanups: Array<() => Promise<unknown>> = process.argv.includes('--keep') ? [async () => log(`logs kept in ${dir}`)] : [() => rm(dir, { recursive: true, force: true })];
  try {
    const entries: Array<[string, string, string[]]> = [['gateway', REPO_ROOT, build(REPO_ROOT)]];
    if (baseRoot) entries.push(['base', baseRoot, build(baseRoot)]);
    log(`built ${entries.map(([name]) => name).join(', ')}`);
    const [redis, issuer] = await Promise.all([startRedis(), startTestIssuer()]);
    cleanups.push(() => redis.stop(), () => issuer.stop());
    const claims = issuer.accessClaims('bench', ['pacs-viewer', 'pacs-uploader'], { exp: Math.floor(Date.now() / 1000) + 3 * 3600, ...extraClaims });
    const accessToken = await issuer.sign(claims);
    // The session principal as a sign-in leaves it: with the study-access claim's values when a gateway reads that claim.
    const studyAccessClaim = extraEnv.gateway['STUDY_ACCESS_CLAIM'] ?? extraEnv.base['STUDY_ACCESS_CLAIM'];
    const cookie = await createSessionCookie({ redisUrl: redis.url, secret: SESSION_SECRET, accessToken, claims, studyAccessClaim });
    const startGateways = async (upstream: { url: string; username: string; password: string }, suffix: string) =>
      Promise.all(
        entries.map(async ([name, root, entry]) => {
          const profiling = profile && name === 'gateway' ? ['--cpu-prof', `--cpu-prof-dir=${join(profileDir ?? join(dir, 'profiles'), suffix)}`] : [];
          const flags = [...profiling, ...(name === 'gateway' ? extraFlags.gateway : extraFlags.base)];
          const own = name === 'gateway' ? extraEnv.gateway : extraEnv.base;
          const env = { OIDC_ISSUER: issuer.issuer, ORTHANC_URL: upstream.url, ORTHANC_USERNAME: upstream.username, ORTHANC_PASSWORD: upstream.password, REDIS_URL: redis.url, SESSION_SECRET, ...own };
          const gateway = await startGatewayProcess({ env, workers: 1, nodeFlags: flags, dir, name: `${name}-${suffix}`, repoRoot: root, entry });
          cleanups.push(() => gateway.stop());
          return { name, gateway };
        }),
      );
    const startNodeProxies = async (upstream: string, authorization: string) => {
      const proxies = await Promise.all(nodeProxyScripts.map((script) => startNodeProxy(dir, REPO_ROOT, upstream, authorization, script)));
      const name = (script: string) => (script === 'node-proxy-undici.mjs' ? 'node-undici' : script.replace(/\.mjs$/, ''));
      const targets = proxies.map((proxy, index): Target => ({ name: name(nodeProxyScripts[index]!), endpoint: { base: proxy.url, prefix: '/dicom-web', headers: {} }, pid: proxy.pid }));
      return { targets, stop: () => Promise.all(proxies.map((proxy) => proxy.stop())) };
    };
    const gatewayTargets = (gateways: Awaited<ReturnType<typeof startGateways>>): Target[] =>
      gateways.flatMap(({ name, gateway }) => {
        const target = (kind: string, headers: Record<string, string>): Target => ({ name: `${name}-${kind}`, endpoint: { base: gateway.url, prefix: '/pacs/dicom-web', headers }, pid: gateway.pid });
        const bearer = target('bearer', { authorization: `Bearer ${accessToken}` });
        return [bearer, target('session', { cookie, origin: gateway.url })];
      });

    if (only.includes('trivial')) {
      const upstream = upstreamDelayMs ? await startDelayedUpstream(dir, REPO_ROOT, upstreamDelayMs) : await startNginx('trivial-upstream', trivialUpstreamSite);
      cleanups.push(() => upstream.stop());
      const authorization = `Basic ${Buffer.from('bench:bench-password').toString('base64')}`;
      const nginx = await startNginx('trivial-proxy', nginxProxySite(upstream.url, authorization, 1));
      const nodeProxies = await startNodeProxies(upstream.url, authorization);
      const gateways = await startGateways({ url: upstream.url, username: 'bench', password: 'bench-password' }, 'trivial');
      cleanups.push(() => nginx.stop());
      await measure(upstreamDelayMs ? `trivial, answered after ${upstreamDelayMs} ms` : 'trivial', [
        { name: 'nginx', endpoint: { base: nginx.url, prefix: '/dicom-web', headers: {} }, pid: nginx.pid },
        ...nodeProxies.targets,
        ...gatewayTargets(gateways),
      ], ['/studies'], ACCEPT_JSON);
      await Promise.all([nginx.stop(), nodeProxies.stop(), upstream.stop(), ...gateways.map(({ gateway }) => gateway.stop())]);
    }
    if (['qido', 'qido-1', 'frames', 'frames-1', 'wado', 'stow'].some((workload) => only.includes(workload))) {
      const orthanc = await startBenchOrthanc(dir);
      cleanups.push(() => orthanc.stop('SIGKILL'));
      const series = makeBenchSeries(50, { patientId: 'BENCH-FRAMES', description: 'frames' });
      await uploadAll(orthanc, series.files);
      const nginx = await startNginx('proxy', nginxProxySite(orthanc.url, orthanc.authorization, 1));
      const gateways = await startGateways(orthanc, 'orthanc');
      cleanups.push(() => nginx.stop());
      // The STOW point always has the bare node proxy: the floor Node gives for request bodies.
      const nodeProxies = bareProxiesBeforeOrthanc || only.includes('stow') ? await startNodeProxies(orthanc.url, orthanc.authorization) : { targets: [], stop: async () => undefined };
      cleanups.push(() => nodeProxies.stop());
      const nginxTarget: Target = { name: 'nginx', endpoint: { base: nginx.url, prefix: '/dicom-web', headers: {} }, pid: nginx.pid };
      const directTarget: Target = { name: 'direct', endpoint: { base: orthanc.url, prefix: '/dicom-web', headers: { authorization: orthanc.authorization } } };
      const targets: Target[] = [...(withLatency ? [directTarget] : []), nginxTarget, ...(bareProxiesBeforeOrthanc ? nodeProxies.targets : []), ...gatewayTargets(gateways)];
      if (only.includes('qido')) await measure('qido', targets, ['/studies'], ACCEPT_JSON, connectionsOption, orthanc.pid);
      if (only.includes('qido-1')) await measure('qido, 1 connection', targets, ['/studies'], ACCEPT_JSON, 1, orthanc.pid);
      const framePaths = series.sopInstanceUids.map((sop) => `/studies/${series.studyInstanceUid}/series/${series.seriesInstanceUid}/instances/${sop}/frames/1`);
      const frame = await orthanc.fetch('/dicom-web' + framePaths[0]!, { headers: { accept: ACCEPT_FRAMES, 'accept-encoding': 'identity' } });
      log(`Orthanc's frame answer: ${frame.status}, content-length ${frame.headers.get('content-length')}, transfer-encoding ${frame.headers.get('transfer-encoding')}, connection ${frame.headers.get('connection')}`);
      await frame.arrayBuffer();
      if (only.includes('frames')) await measure('frames', targets, framePaths, ACCEPT_FRAMES);
      const preloaded = targets.filter((target) => target.name.startsWith('gateway-'));
      for (const target of preload ? preloaded : []) await requestLoad(target.endpoint, framePaths, { connections: connectionsOption, seconds: 600, amount: Math.ceil(preload / preloaded.length), accept: ACCEPT_FRAMES });
      if (preload) log(`preloaded ${preloaded.map((target) => target.name).join(', ')} with ${preload} frames at ${connectionsOption} connections`);
      if (only.includes('frames-1')) await measure('frames, 1 connection', targets, framePaths, ACCEPT_FRAMES, 1);
      if (only.includes('wado')) await measureTransfer(targets, `/studies/${series.studyInstanceUid}`, 'multipart/related; type="application/dicom"; transfer-syntax=*');
      if (idleSeconds) await measureIdle(targets);
      if (only.includes('stow')) {
        const study = makeBenchSeries(stowInstances, { patientId: 'BENCH-STOW', description: 'stow' });
        await measureUpload([nginxTarget, ...nodeProxies.targets, ...gatewayTargets(gateways)], orthanc, study.files, study.studyInstanceUid);
      }
      await Promise.all([nginx.stop(), ...gateways.map(({ gateway }) => gateway.stop())]);
    }
    if (profile) console.log(await summarizeProfiles(profileDir ?? join(dir, 'profiles')));
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  }
}

exitOnTerminationSignals(); // a Ctrl-C or kill leaves no nginx worker behind
main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exitCode = 1;
});
