/**
 * The gateway's benchmark (issue 8): direct Orthanc, nginx as a plain reverse proxy, and the gateway
 * (Bearer and session cookie), side by side in one run on this machine; plus a trivial upstream to
 * isolate the gateway's own cost against nginx with the same number of worker processes.
 *
 *   npm run bench                          full run (~10 min): bench/results/<label>.json + bench/README.md table
 *   npm run bench -- --smoke               every workload for ~1 s, results to a temp dir (CI)
 *   npm run bench -- --label=before        name of the results file (default: latest)
 *   npm run bench -- --only=qido,trivial   a subset of the workloads (results not written to the README)
 *   npm run bench -- --profile             gateway runs with --cpu-prof; top functions in bench/results/<label>-profile.txt
 *   npm run bench -- --gateway-root=DIR    run the gateway from another checkout (e.g. `git archive` of an older commit,
 *                                          with node_modules linked), to measure before/after in the same conditions
 *   npm run bench -- --compare-root=DIR    also measure the gateway of another checkout as `before-*` targets, point by
 *                                          point in the same run (same machine state for both)
 *   npm run bench -- --workers=1,2         WORKERS values of the trivial-upstream comparison (default 1,2)
 *   npm run bench -- --seconds=4           measured seconds per request point (default 10; latency points half of it):
 *                                          a reduced run on a busy machine
 *   npm run bench -- --entry=tsx           run the gateway's TypeScript through tsx instead of a tsc build (the smoke
 *                                          run's default: no build step; tsx adds per-closure overhead, so never for numbers)
 *
 * The targets of a point take turns (bench/README.md, section 20): request points in rounds with a shuffled
 * order, one-connection points request by request (what a proxy adds is paired with direct Orthanc in the
 * same turn), bulk points transfer by transfer. `node-proxy` (the pooled bare proxy with the URL rewrite) is
 * measured beside the products as their floor.
 *
 * Everything listens on loopback, on free ports, and stops at the end (or when this process dies).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestIssuer } from '../tests/support/test-issuer.js';
import { startRedis } from '../tests/support/redis.js';
import { makeBenchSeries, type BenchSeries } from './lib/data.js';
import { download, idleGapProbe, median, requestLoad, upload, type Endpoint } from './lib/load.js';
import { interleavedLatency, shuffledOrder } from './lib/interleaved-latency.js';
import { combineRounds, sumUsage, type RoundResult } from './lib/rounds.js';
import { deleteStudy, startBenchOrthanc, uploadAll, type BenchOrthanc } from './lib/orthanc.js';
import { ForeignLoadMeter, UsageMeter, round, waitForQuiet, type Usage } from './lib/procstat.js';
import {
  exitOnTerminationSignals,
  nginxProxySite,
  startGatewayProcess,
  startNginx,
  startNodeProxy,
  trivialUpstreamSite,
  type BenchGateway,
  type BenchNginx,
  type BenchProcess,
} from './lib/processes.js';
import { evaluateChecks, renderSummary, updateReadme } from './lib/report.js';
import { checkOpenFileLimit, eventLoopDelay, viewersLoad } from './lib/viewers.js';
import { summarizeProfiles } from './lib/profile.js';
import { createSessionCookie } from './lib/session.js';
import type { BenchResults, Point, ProxyUsage, Workload } from './lib/types.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ACCEPT_JSON = 'application/dicom+json';
const ACCEPT_FRAMES = 'multipart/related; type="application/octet-stream"; transfer-syntax=*';
const ACCEPT_DICOM = 'multipart/related; type="application/dicom"; transfer-syntax=*';
const SESSION_SECRET = 'bench-session-secret-0123456789abcdef0123456789';

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const option = (name: string) => args.find((arg) => arg.startsWith(`--${name}=`))?.split('=')[1];
const smoke = flag('smoke');
const profile = flag('profile');
const only = option('only')?.split(',');
const label = option('label') ?? (smoke ? 'smoke' : 'latest');
const outDir = option('out') ?? (smoke ? undefined : join(REPO_ROOT, 'bench', 'results'));
const gatewayRoot = resolve(option('gateway-root') ?? REPO_ROOT);
const compareRoot = option('compare-root') ? resolve(option('compare-root')!) : undefined;
const workersOption = option('workers')?.split(',').map(Number);
const secondsOption = option('seconds') ? Number(option('seconds')) : undefined;
const entryKind = option('entry') ?? (smoke ? 'tsx' : 'build');

/** Run lengths: the full run measures; the smoke run only proves every workload works (CI). */
const settings = smoke
  ? {
      requestSeconds: 1,
      requestAmount: 40 as number | undefined,
      warmupSeconds: 0,
      firstWarmupRequests: 0,
      latencySeconds: 1,
      latencyAmount: 10 as number | undefined,
      connections: 4,
      trivialConnections: 4,
      framesInstances: 4,
      largeInstances: 6,
      stowInstances: 6,
      wadoRuns: 1,
      stowRuns: 1,
      rounds: 1,
      workers: [1],
      probe: { bursts: 2, perBurst: 2, gapsMs: [50] },
      viewers: { idleConnections: 20, activeConnections: 4, seconds: 2, idleEveryMs: 500 },
    }
  : {
      requestSeconds: secondsOption ?? 10,
      requestAmount: undefined,
      warmupSeconds: 2,
      // A fresh gateway's QIDO requests cost ~2.5 × the steady state for their first ~1,500 (JIT,
      // heap sizing: bench/README.md section 28); 2 s at QIDO's ~500 req/s was not enough.
      firstWarmupRequests: 3000,
      latencySeconds: Math.max(1, Math.round((secondsOption ?? 10) / 2)),
      latencyAmount: undefined,
      connections: 8,
      trivialConnections: 16,
      framesInstances: 50,
      largeInstances: 400,
      stowInstances: 400,
      wadoRuns: 7,
      stowRuns: 3,
      rounds: 3,
      workers: workersOption ?? [1, 2],
      probe: { bursts: 10, perBurst: 8, gapsMs: [700, 900, 1000, 1100, 1300] },
      // Issue 16: 1,000 open keep-alive connections (each one request per 3 s: the gateway closes
      // connections idle for 5 s, and a busy load generator sends late) plus 200 loading studies,
      // for 60 s (--seconds shortens it too).
      viewers: { idleConnections: 1000, activeConnections: 200, seconds: secondsOption ?? 60, idleEveryMs: 3000 },
    };

const wanted = (workload: Workload) => !only || only.includes(workload) || only.includes(workload.replace('-latency', ''));
const log = (message: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);

/** A process tree the benchmark meters (UsageMeter): its root PID. */
type Metered = Pick<BenchProcess, 'pid'>;

interface Target {
  name: string;
  endpoint: Endpoint;
  proxy?: { kind: 'gateway' | 'nginx' | 'node'; process: Metered; workers: number };
}

const cleanups: Array<() => Promise<unknown>> = [];
const points: Point[] = [];
const gatewayWarnings: Record<string, string[]> = {};

/**
 * What a gateway printed besides its info lines: Node process warnings (e.g. a listener leak
 * warning per request, which once cost more than the request) and log lines at warn and above.
 */
function collectWarnings(name: string, gateway: BenchProcess): void {
  const lines = gateway.log().split('\n').filter((line) => {
    if (!line.trim()) return false;
    if (!line.startsWith('{')) return !line.startsWith('(Use `node --trace-warnings');
    try {
      const entry = JSON.parse(line) as { level?: number; check?: string };
      return (entry.level ?? 0) >= 40 && entry.check === undefined; // start-up check findings are expected here
    } catch {
      return true;
    }
  });
  const counts = new Map<string, number>();
  for (const line of lines) {
    const key = line.replace(/\(node:\d+\)/, '(node)').replace(/"time":"[^"]+",?/, '').slice(0, 300);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  gatewayWarnings[name] = [...counts].map(([line, count]) => `${count}× ${line}`);
  if (counts.size) log(`${name} printed warnings:\n  ${gatewayWarnings[name].slice(0, 5).join('\n  ')}`);
}

/** Runs `work` while metering the target's proxy, the upstream and this process. */
async function measured<T>(
  target: Target,
  upstream: Metered,
  work: () => Promise<T>,
): Promise<{ result: T; proxy?: ProxyUsage; upstreamCpuSeconds: number; clientCpuSeconds: number; foreignCpuShare: number }> {
  const foreign = new ForeignLoadMeter();
  const proxyMeter = target.proxy ? new UsageMeter(target.proxy.process.pid) : undefined;
  const upstreamMeter = new UsageMeter(upstream.pid);
  const clientStart = process.cpuUsage();
  const result = await work();
  const client = process.cpuUsage(clientStart);
  const upstreamUsage = upstreamMeter.stop();
  const proxyUsage = proxyMeter?.stop();
  return {
    result,
    proxy: proxyUsage && target.proxy
      ? { ...proxyUsage, kind: target.proxy.kind, workers: target.proxy.workers, rssGrowthMb: round(proxyUsage.peakRssMb - proxyUsage.startRssMb, 1) }
      : undefined,
    upstreamCpuSeconds: upstreamUsage.cpuSeconds,
    clientCpuSeconds: round((client.user + client.system) / 1e6, 2),
    foreignCpuShare: foreign.share(),
  };
}

/**
 * On a shared machine, start each point when other work leaves the CPUs (nearly) idle: up to 8 s
 * per point and 2 minutes per run, so the run stays bounded however busy the machine is.
 */
let quietBudgetMs = 120_000;
async function quietStart(): Promise<void> {
  if (smoke || quietBudgetMs <= 0) return;
  const started = Date.now();
  const share = await waitForQuiet(0.1, Math.min(8_000, quietBudgetMs));
  quietBudgetMs -= Date.now() - started;
  if (share > 0.1) log(`other work keeps ${(share * 100).toFixed(0)}% of the CPUs busy: measuring anyway`);
}

/** Load before a measured turn: the first turn's lasts `warmupSeconds` and at least `firstWarmupRequests` requests, a later one's a quarter of the time. */
async function warmUp(target: Target, paths: string[], accept: string, connections: number, firstTurn: boolean) {
  const seconds = firstTurn ? settings.warmupSeconds : settings.warmupSeconds / 4;
  if (seconds <= 0) return;
  const { requests } = await requestLoad(target.endpoint, paths, { connections, seconds, accept });
  const missing = firstTurn ? settings.firstWarmupRequests - requests : 0;
  if (missing > 0) await requestLoad(target.endpoint, paths, { connections, seconds, amount: missing, accept });
}

/**
 * A request point: the targets take turns for `settings.rounds` rounds, in a shuffled order every
 * round, each measured for its share of `seconds` (its first turn after the full warm-up (`warmUp`), later ones
 * after a short one), so a state of the machine that lasts seconds reaches every target alike
 * (bench/README.md, section 20). Each target's rounds become one point (lib/rounds.ts).
 */
async function requestPoint(workload: Workload, targets: Target[], upstream: Metered, paths: string[], accept: string, connections: number, seconds: number, amount?: number) {
  const { rounds } = settings;
  const measuredRounds: RoundResult[][] = targets.map(() => []);
  await quietStart();
  for (let turn = 0; turn < rounds; turn++) {
    for (const index of shuffledOrder(targets.length)) {
      const target = targets[index]!;
      await warmUp(target, paths, accept, connections, turn === 0);
      const { result, proxy, ...shared } = await measured(target, upstream, () => requestLoad(target.endpoint, paths, { connections, seconds: seconds / rounds, amount, accept }));
      measuredRounds[index]!.push({ load: result, usage: proxy, ...shared });
    }
  }
  targets.forEach((target, index) => {
    const { load, usage, cpuMsPerRequest, rounds: summaries, ...shared } = combineRounds(measuredRounds[index]!);
    const proxy: ProxyUsage | undefined =
      usage && target.proxy ? { ...usage, kind: target.proxy.kind, workers: target.proxy.workers, rssGrowthMb: round(usage.peakRssMb - usage.startRssMb, 1), cpuMsPerRequest } : undefined;
    points.push({ workload, target: target.name, load, proxy, rounds: summaries, ...shared });
    const failures = load.non2xx + load.errors + load.timeouts;
    const spread = (values: Array<number | undefined>) => values.map((value) => value ?? '–').join(' / ');
    log(
      `${workload.padEnd(14)} ${target.name.padEnd(16)} ${String(load.reqPerSec).padStart(6)} req/s (rounds ${spread(summaries.map((r) => r.reqPerSec))})  p50 ${load.p50Ms.toFixed(2)} ms  p99 ${load.p99Ms.toFixed(2)} ms  ${load.mbPerSec} MB/s` +
        (proxy ? `  proxy ${cpuMsPerRequest} ms CPU/request (rounds ${spread(summaries.map((r) => r.cpuMsPerRequest))}) rss ${proxy.peakRssMb} MB` : '') +
        (proxy && load.requests ? `  ${round(proxy.minorFaults / load.requests, 1)} page faults/request` : '') +
        (shared.foreignCpuShare > 0.05 ? `  [other work: ${(shared.foreignCpuShare * 100).toFixed(0)}% CPU]` : '') +
        (failures ? `  FAILURES ${JSON.stringify(load.statusCodes)} errors=${load.errors} timeouts=${load.timeouts}` : ''),
    );
  });
}

/**
 * Meters every proxy process of `targets` (once each, however many targets it serves), the upstream
 * and this process over a one-connection point where the targets take turns. `stop` gives each
 * target its proxy's usage, with the process's CPU spread over the requests of all the targets it
 * served: the gateway serves both the Bearer and the session target.
 */
function meterInTurns(targets: Target[], upstream: Metered) {
  const foreign = new ForeignLoadMeter();
  const pids = [...new Set(targets.flatMap((target) => (target.proxy ? [target.proxy.process.pid] : [])))];
  const meters = new Map(pids.map((pid) => [pid, new UsageMeter(pid)]));
  const upstreamMeter = new UsageMeter(upstream.pid);
  const clientStart = process.cpuUsage();
  return (requests: number[]) => {
    const client = process.cpuUsage(clientStart);
    const upstreamCpuSeconds = upstreamMeter.stop().cpuSeconds;
    const usages = new Map([...meters].map(([pid, meter]) => [pid, meter.stop()]));
    const requestsByPid = new Map<number, number>();
    targets.forEach((target, index) => {
      if (target.proxy) requestsByPid.set(target.proxy.process.pid, (requestsByPid.get(target.proxy.process.pid) ?? 0) + requests[index]!);
    });
    const shared = { upstreamCpuSeconds, clientCpuSeconds: round((client.user + client.system) / 1e6, 2), foreignCpuShare: foreign.share() };
    return targets.map((target) => {
      const usage = target.proxy ? usages.get(target.proxy.process.pid) : undefined;
      const served = target.proxy ? requestsByPid.get(target.proxy.process.pid) ?? 0 : 0;
      const proxy: ProxyUsage | undefined =
        usage && target.proxy ? { ...usage, kind: target.proxy.kind, workers: target.proxy.workers, rssGrowthMb: round(usage.peakRssMb - usage.startRssMb, 1) } : undefined;
      return { proxy, cpuMsPerRequest: usage && served ? round((usage.cpuSeconds * 1000) / served, 4) : undefined, ...shared };
    });
  };
}

/** A one-connection point: every target's requests in turn (lib/interleaved-latency.ts). */
async function latencyPoint(workload: Workload, targets: Target[], upstream: Metered, paths: string[], accept: string, seconds: number, turns?: number) {
  await quietStart();
  if (settings.warmupSeconds > 0) await interleavedLatency(targets, paths, { seconds: settings.warmupSeconds, accept });
  const stop = meterInTurns(targets, upstream);
  const results = await interleavedLatency(targets, paths, { seconds, turns, accept });
  const usages = stop(results.map((load) => load.requests));
  targets.forEach((target, index) => {
    const load = results[index]!;
    const { proxy, cpuMsPerRequest, ...shared } = usages[index]!;
    if (proxy) proxy.cpuMsPerRequest = cpuMsPerRequest;
    points.push({ workload, target: target.name, load, proxy, ...shared });
    const failures = load.non2xx + load.errors + load.timeouts;
    log(
      `${workload.padEnd(14)} ${target.name.padEnd(16)} p50 ${load.p50Ms.toFixed(3)} ms  p90 ${load.p90Ms.toFixed(3)} ms  p99 ${load.p99Ms.toFixed(3)} ms  ${load.requests} requests` +
        (load.pairedAddedP50Ms !== undefined ? `  added over ${targets[0]!.name} (paired median) ${load.pairedAddedP50Ms.toFixed(3)} ms` : '') +
        (shared.foreignCpuShare > 0.05 ? `  [other work: ${(shared.foreignCpuShare * 100).toFixed(0)}% CPU]` : '') +
        (failures ? `  FAILURES ${JSON.stringify(load.statusCodes)} errors=${load.errors}` : ''),
    );
  });
}

/** Issue 16's "many viewers" point against one gateway target (lib/viewers.ts). */
async function viewersPoint(target: Target, upstream: Metered, activePaths: Array<{ path: string; accept: string }>) {
  const { idleConnections, activeConnections, seconds, idleEveryMs } = settings.viewers;
  await quietStart();
  await eventLoopDelay(target.endpoint.base); // a scrape resets the delay histogram: the next one covers this point only
  const { result, proxy, upstreamCpuSeconds, clientCpuSeconds, foreignCpuShare } = await measured(target, upstream, () =>
    viewersLoad(target.endpoint, { idleConnections, activeConnections, seconds, idlePath: '/healthz', idleEveryMs, activePaths }),
  );
  const delay = await eventLoopDelay(target.endpoint.base);
  const { active, idle } = result;
  if (proxy) proxy.cpuMsPerRequest = active.requests + idle.requests ? round((proxy.cpuSeconds * 1000) / (active.requests + idle.requests), 4) : undefined;
  points.push({ workload: 'viewers', target: target.name, load: active, viewers: { idle, eventLoopDelay: delay }, proxy, upstreamCpuSeconds, clientCpuSeconds, foreignCpuShare });
  const failures = active.non2xx + active.errors + active.timeouts + idle.failed;
  log(
    `viewers        ${target.name.padEnd(16)} ${idle.connections} idle (${idle.requests} pings, ${idle.reopened} reopened, longest gap ${idle.maxGapMs} ms) + ${active.connections} active: ${active.reqPerSec} req/s  p50 ${active.p50Ms.toFixed(2)} ms  p99 ${active.p99Ms.toFixed(2)} ms` +
      `  event-loop delay p99 ${delay.p99Ms} ms max ${delay.maxMs} ms` +
      (proxy ? `  proxy rss ${proxy.startRssMb}→${proxy.peakRssMb} MB` : '') +
      (foreignCpuShare > 0.05 ? `  [other work: ${(foreignCpuShare * 100).toFixed(0)}% CPU]` : '') +
      (failures ? `  FAILURES ${JSON.stringify(active.statusCodes)} errors=${active.errors} timeouts=${active.timeouts} idle failed=${idle.failed} ${JSON.stringify(idle.failures)}` : ''),
  );
}

/**
 * A bulk point: `turns` transfers per target, the targets in a shuffled order every turn (as the
 * one-connection points: single transfers of a few hundred ms move 2–3 × with the machine's state,
 * bench/README.md section 20); MB/s is each target's median. Each transfer is metered on its own: a
 * proxy's CPU per MB counts its transfers, not the seconds it waits while the others transfer (the
 * gateway's timers, e.g. the event-loop delay monitor, take ~8 ms of CPU per idle second).
 */
async function transferPoint(
  workload: 'wado-study' | 'stow',
  targets: Target[],
  upstream: Metered,
  turns: number,
  once: (target: Target) => Promise<{ status: number; bytes: number; seconds: number }>,
  before?: () => Promise<void>,
) {
  const runs = targets.map(() => ({ seconds: [] as number[], statuses: [] as number[], bytes: 0, usages: [] as Usage[], upstreamCpuSeconds: 0, clientCpuSeconds: 0, foreignCpuShares: [] as number[] }));
  await quietStart();
  for (let turn = 0; turn < turns; turn++) {
    for (const index of shuffledOrder(targets.length)) {
      if (before) await before();
      const { result, proxy, upstreamCpuSeconds, clientCpuSeconds, foreignCpuShare } = await measured(targets[index]!, upstream, () => once(targets[index]!));
      const run = runs[index]!;
      run.seconds.push(round(result.seconds, 3));
      run.statuses.push(result.status);
      run.bytes = result.bytes;
      if (proxy) run.usages.push(proxy);
      run.upstreamCpuSeconds += upstreamCpuSeconds;
      run.clientCpuSeconds += clientCpuSeconds;
      run.foreignCpuShares.push(foreignCpuShare);
    }
  }
  targets.forEach((target, index) => {
    const { seconds, statuses, bytes, usages, foreignCpuShares, ...meters } = runs[index]!;
    const usage = usages.length ? sumUsage(usages) : undefined;
    const foreignCpuShare = round(foreignCpuShares.reduce((a, b) => a + b, 0) / foreignCpuShares.length, 3);
    const proxy: ProxyUsage | undefined =
      usage && target.proxy
        ? { ...usage, kind: target.proxy.kind, workers: target.proxy.workers, rssGrowthMb: round(usage.peakRssMb - usage.startRssMb, 1), cpuMsPerMb: round((usage.cpuSeconds * 1000) / ((bytes / 1e6) * turns), 3) }
        : undefined;
    const mbPerSec = round(median(seconds.map((s) => bytes / 1e6 / s)), 1);
    points.push({ workload, target: target.name, transfer: { runs: turns, bytes, mbPerSec, secondsPerRun: seconds, statuses }, proxy, upstreamCpuSeconds: round(meters.upstreamCpuSeconds, 3), clientCpuSeconds: round(meters.clientCpuSeconds, 2), foreignCpuShare });
    const bad = statuses.filter((status) => status !== 200);
    log(
      `${workload.padEnd(14)} ${target.name.padEnd(16)} ${String(mbPerSec).padStart(6)} MB/s  (${(bytes / 1e6).toFixed(0)} MB × ${turns}: ${seconds.join(', ')} s)` +
        (proxy ? `  proxy ${proxy.cpuMsPerMb} ms CPU/MB, rss ${proxy.startRssMb}→${proxy.peakRssMb} MB` : '') +
        (foreignCpuShare > 0.05 ? `  [other work: ${(foreignCpuShare * 100).toFixed(0)}% CPU]` : '') +
        (bad.length ? `  FAILED statuses ${statuses.join(',')}` : ''),
    );
  });
}

/**
 * The gateway as production runs it: compiled by tsc (`npm run build`), afresh into .bench-build/ of
 * the gateway's checkout. Type errors elsewhere in a tree under edit do not stop tsc from emitting.
 */
function buildGateway(root: string): string[] {
  if (entryKind === 'tsx') return ['--import', 'tsx', 'src/main.ts'];
  const outDir = join(root, '.bench-build');
  rmSync(outDir, { recursive: true, force: true });
  const started = Date.now();
  try {
    execFileSync(process.execPath, [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', outDir], { cwd: root, stdio: 'pipe' });
  } catch (error) {
    if (!existsSync(join(outDir, 'main.js'))) throw error;
    log(`tsc reported errors in ${root} but emitted the gateway; measuring that build`);
  }
  log(`gateway built with tsc in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return [join(outDir, 'main.js')];
}

async function main(): Promise<void> {
  const started = new Date();
  const gatewayEntry = buildGateway(gatewayRoot);
  const compareEntry = compareRoot ? buildGateway(compareRoot) : undefined;
  const loadBefore = loadavg()[0]!;
  if (!smoke && loadBefore > 1) log(`warning: load average ${loadBefore.toFixed(1)} before the run: other work on this machine skews the numbers`);
  const dir = await mkdtemp(join(tmpdir(), 'gateway-bench-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const profileDir = join(dir, 'profiles');
  const nodeFlags = (name: string) => (profile ? ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, name)}`] : []);
  log(`${smoke ? 'smoke run' : 'full run'} in ${dir}`);
  const orthancWanted = (['qido', 'frames', 'qido-latency', 'frames-latency', 'wado-study', 'stow', 'idle-gaps', 'viewers'] as Workload[]).some(wanted);
  if (wanted('viewers')) checkOpenFileLimit(settings.viewers);
  const trivialWanted = wanted('trivial');

  // --- data ---------------------------------------------------------------------------
  const framesSeries = makeBenchSeries(settings.framesInstances, { patientId: 'BENCH-FRAMES', description: 'frames' });
  const largeStudy = makeBenchSeries(settings.largeInstances, { patientId: 'BENCH-LARGE', description: 'large' });
  const stowStudy = makeBenchSeries(settings.stowInstances, { patientId: 'BENCH-STOW', description: 'stow' });
  log(`data: ${framesSeries.files.length} + ${largeStudy.files.length} + ${stowStudy.files.length} instances of ${(framesSeries.files[0]!.length / 1e3).toFixed(0)} kB`);

  // --- upstreams, issuer, Redis -------------------------------------------------------------
  const [orthanc, redis, issuer, trivialUpstream] = await Promise.all([
    startBenchOrthanc(dir),
    startRedis(),
    startTestIssuer(),
    trivialWanted ? startNginx('trivial-upstream', trivialUpstreamSite) : undefined,
  ]);
  // A throw-away database: no need to wait for Orthanc's orderly 3.6 s shutdown.
  cleanups.push(() => orthanc.stop('SIGKILL'), () => redis.stop(), () => issuer.stop());
  if (trivialUpstream) cleanups.push(() => trivialUpstream.stop());

  const claims = issuer.accessClaims('bench', ['pacs-viewer', 'pacs-uploader'], { exp: Math.floor(Date.now() / 1000) + 3 * 3600 });
  const accessToken = await issuer.sign(claims);
  const gatewayEnv = (upstream: { url: string; username: string; password: string }) => ({
    OIDC_ISSUER: issuer.issuer,
    ORTHANC_URL: upstream.url,
    ORTHANC_USERNAME: upstream.username,
    ORTHANC_PASSWORD: upstream.password,
    REDIS_URL: redis.url,
    SESSION_SECRET,
  });
  const trivialCredential = { url: trivialUpstream?.url ?? '', username: 'bench', password: 'bench-password' };
  const trivialAuthorization = `Basic ${Buffer.from('bench:bench-password').toString('base64')}`;

  // --- proxies: everything starts at once (idle ones cost nothing), setup uploads meanwhile ----------
  const setupStarted = Date.now();
  const stopLater = <T extends Pick<BenchProcess, 'stop'>>(proc: T): T => {
    cleanups.push(() => proc.stop());
    return proc;
  };
  const startCompared = (env: Record<string, string>, name: string) =>
    compareRoot && compareEntry
      ? startGatewayProcess({ env, workers: 1, nodeFlags: nodeFlags(name), dir, name, repoRoot: compareRoot, entry: compareEntry }).then(stopLater)
      : undefined;
  const [orthancProxies, trivialProxies, comparedOrthanc, comparedTrivial] = await Promise.all([
    orthancWanted
      ? Promise.all([
          startGatewayProcess({ env: gatewayEnv(orthanc), workers: 1, nodeFlags: nodeFlags('gateway'), dir, name: 'gateway', repoRoot: gatewayRoot, entry: gatewayEntry }).then(stopLater),
          startNginx('proxy', nginxProxySite(orthanc.url, orthanc.authorization, 1)).then(stopLater),
        ])
      : undefined,
    trivialUpstream
      ? Promise.all(
          settings.workers.map((workers) =>
            Promise.all([
              startGatewayProcess({ env: gatewayEnv(trivialCredential), workers, nodeFlags: nodeFlags(`gateway-trivial-${workers}w`), dir, name: `gateway-trivial-${workers}w`, repoRoot: gatewayRoot, entry: gatewayEntry }).then(stopLater),
              startNginx(`trivial-proxy-${workers}w`, nginxProxySite(trivialUpstream.url, trivialAuthorization, workers)).then(stopLater),
            ]),
          ),
        )
      : undefined,
    orthancWanted ? startCompared(gatewayEnv(orthanc), 'gateway-before') : undefined,
    trivialUpstream ? startCompared(gatewayEnv(trivialCredential), 'gateway-trivial-before') : undefined,
    orthancWanted ? uploadAll(orthanc, [...framesSeries.files, ...largeStudy.files]) : undefined,
  ]);
  log(`proxies started, ${framesSeries.files.length + largeStudy.files.length} instances uploaded to Orthanc, in ${((Date.now() - setupStarted) / 1000).toFixed(1)} s`);

  if (orthancProxies) {
    const [gateway, nginx] = orthancProxies;
    const cookie = await createSessionCookie({ redisUrl: redis.url, secret: SESSION_SECRET, accessToken, claims });
    const nodeProxy = stopLater(await startNodeProxy(dir, REPO_ROOT, orthanc.url, orthanc.authorization, 'node-proxy-keepalive-rewrite.mjs'));
    await orthancSuite({ orthanc, gateway, nginx, compared: comparedOrthanc, nodeProxy, cookie, accessToken, framesSeries, largeStudy, stowStudy });
    await Promise.all([gateway.stop(), nginx.stop(), comparedOrthanc?.stop(), nodeProxy.stop()]);
    collectWarnings('gateway', gateway);
    if (comparedOrthanc) collectWarnings('gateway-before', comparedOrthanc);
  }
  if (trivialUpstream && trivialProxies) {
    const direct: Target = { name: 'upstream', endpoint: { base: trivialUpstream.url, prefix: '/dicom-web', headers: { authorization: trivialAuthorization } } };
    const nodeProxy = stopLater(await startNodeProxy(dir, REPO_ROOT, trivialUpstream.url, trivialAuthorization));
    const floor: Target = { name: 'node-proxy-1w', endpoint: { base: nodeProxy.url, prefix: '/dicom-web', headers: {} }, proxy: { kind: 'node', process: nodeProxy, workers: 1 } };
    for (const [index, workers] of settings.workers.entries()) {
      const [gateway, nginx] = trivialProxies[index]!;
      // The references (the upstream itself, the bare proxy) take turns with the one-worker targets.
      const targets: Target[] = [
        ...(index === 0 ? [direct, floor] : []),
        { name: `nginx-${workers}w`, endpoint: { base: nginx.url, prefix: '/dicom-web', headers: {} }, proxy: { kind: 'nginx', process: nginx, workers } },
        { name: `gateway-${workers}w`, endpoint: { base: gateway.url, prefix: '/pacs/dicom-web', headers: { authorization: `Bearer ${accessToken}` } }, proxy: { kind: 'gateway', process: gateway, workers } },
      ];
      if (comparedTrivial && workers === 1) {
        targets.push({ name: 'before-1w', endpoint: { base: comparedTrivial.url, prefix: '/pacs/dicom-web', headers: { authorization: `Bearer ${accessToken}` } }, proxy: { kind: 'gateway', process: comparedTrivial, workers } });
      }
      await requestPoint('trivial', targets, trivialUpstream, ['/studies'], ACCEPT_JSON, settings.trivialConnections, settings.requestSeconds, settings.requestAmount);
      if (index === 0) await nodeProxy.stop();
      await Promise.all([gateway.stop(), nginx.stop()]);
      collectWarnings(`gateway-${workers}w`, gateway);
    }
    if (comparedTrivial) {
      await comparedTrivial.stop();
      collectWarnings('gateway-trivial-before', comparedTrivial);
    }
  }

  // --- results ----------------------------------------------------------------------------
  const results: BenchResults = {
    label,
    smoke,
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    environment: { ...environment(orthanc), loadAverageBefore: round(loadBefore, 2), loadAverageAfter: round(loadavg()[0]!, 2) },
    settings,
    points,
    checks: [],
    gatewayWarnings,
  };
  results.checks = evaluateChecks(results);
  // Every gateway has stopped by now (each wrote its profile on exit); the temp dir goes with stopAll.
  const profileText = profile ? await summarizeProfiles(profileDir) : undefined;
  await stopAll();
  const summary = renderSummary(results);
  console.log(`\n${summary}`);
  if (profileText) {
    console.log(profileText);
    if (outDir) await writeFile(join(outDir, `${label}-profile.txt`), `${profileText}\n`);
  }
  const resultsDir = outDir ?? (await mkdtemp(join(tmpdir(), 'gateway-bench-results-')));
  await mkdir(resultsDir, { recursive: true });
  await writeFile(join(resultsDir, `${label}.json`), `${JSON.stringify(results, null, 2)}\n`);
  log(`results: ${join(resultsDir, `${label}.json`)}`);
  if (!smoke && !only && outDir) await updateReadme(join(REPO_ROOT, 'bench', 'README.md'), summary);
  const failedRuns = results.checks.find((check) => check.name.startsWith('failed requests'))?.value;
  if (failedRuns) {
    console.error(`${failedRuns} requests failed (non-2xx, socket errors or timeouts): see above`);
    process.exitCode = 1;
  }
}

async function orthancSuite({
  orthanc,
  gateway,
  nginx,
  compared,
  nodeProxy,
  cookie,
  accessToken,
  framesSeries,
  largeStudy,
  stowStudy,
}: {
  orthanc: BenchOrthanc;
  gateway: BenchGateway;
  nginx: BenchNginx;
  /** The gateway of --compare-root, measured with Bearer as `before-bearer`. */
  compared: BenchGateway | undefined;
  /** bench/node-proxy-keepalive-rewrite.mjs in front of Orthanc, measured as `node-proxy` in the request points. */
  nodeProxy: (BenchProcess & { url: string }) | undefined;
  cookie: string;
  accessToken: string;
  framesSeries: BenchSeries;
  largeStudy: BenchSeries;
  stowStudy: BenchSeries;
}): Promise<void> {
  const targets: Target[] = [
    { name: 'direct', endpoint: { base: orthanc.url, prefix: '/dicom-web', headers: { authorization: orthanc.authorization } } },
    { name: 'nginx', endpoint: { base: nginx.url, prefix: '/dicom-web', headers: {} }, proxy: { kind: 'nginx', process: nginx, workers: 1 } },
    { name: 'gateway-bearer', endpoint: { base: gateway.url, prefix: '/pacs/dicom-web', headers: { authorization: `Bearer ${accessToken}` } }, proxy: { kind: 'gateway', process: gateway, workers: 1 } },
    // Origin: cookie-authenticated uploads must come from the gateway's own pages (CSRF check).
    { name: 'gateway-session', endpoint: { base: gateway.url, prefix: '/pacs/dicom-web', headers: { cookie, origin: gateway.url } }, proxy: { kind: 'gateway', process: gateway, workers: 1 } },
  ];
  if (nodeProxy) {
    // The floor of a Node.js proxy in front of Orthanc: pooled connections and the gateway's URL rewrite, nothing else (bench/README.md, section 17).
    targets.push({ name: 'node-proxy', endpoint: { base: nodeProxy.url, prefix: '/dicom-web', headers: {} }, proxy: { kind: 'node', process: nodeProxy, workers: 1 } });
  }
  if (compared) {
    targets.push({ name: 'before-bearer', endpoint: { base: compared.url, prefix: '/pacs/dicom-web', headers: { authorization: `Bearer ${accessToken}` } }, proxy: { kind: 'gateway', process: compared, workers: 1 } });
  }
  // Every target must answer before anything is measured.
  for (const target of targets) {
    const check = await download(target.endpoint, '/studies', ACCEPT_JSON);
    if (check.status !== 200) throw new Error(`${target.name}: GET /studies answered ${check.status}`);
  }

  const framePaths = framesSeries.sopInstanceUids.map((sop) => `/studies/${framesSeries.studyInstanceUid}/series/${framesSeries.seriesInstanceUid}/instances/${sop}/frames/1`);
  const { connections, requestSeconds, requestAmount, latencySeconds, latencyAmount } = settings;
  const run = async (workload: Workload, paths: string[], accept: string, conns: number, seconds: number, amount: number | undefined) => {
    if (wanted(workload)) await requestPoint(workload, targets, orthanc, paths, accept, conns, seconds, amount);
  };
  await run('qido', ['/studies'], ACCEPT_JSON, connections, requestSeconds, requestAmount);
  const latency = async (workload: Workload, paths: string[], accept: string) => {
    if (wanted(workload)) await latencyPoint(workload, targets, orthanc, paths, accept, latencySeconds * targets.length, latencyAmount);
  };
  await latency('qido-latency', ['/studies'], ACCEPT_JSON);
  await run('frames', framePaths, ACCEPT_FRAMES, connections, requestSeconds, requestAmount);
  await latency('frames-latency', framePaths, ACCEPT_FRAMES);
  // The bare proxy is a floor for request points only: bulk transfers and idle gaps measure the products.
  const products = targets.filter((target) => target.proxy?.kind !== 'node');
  if (wanted('wado-study')) {
    await transferPoint('wado-study', products, orthanc, settings.wadoRuns, (target) => download(target.endpoint, `/studies/${largeStudy.studyInstanceUid}`, ACCEPT_DICOM));
  }
  if (wanted('stow')) {
    await transferPoint('stow', products, orthanc, settings.stowRuns, (target) => upload(target.endpoint, '/studies', stowStudy.files), () => deleteStudy(orthanc, stowStudy.studyInstanceUid));
    await deleteStudy(orthanc, stowStudy.studyInstanceUid);
  }
  if (wanted('viewers')) {
    const series = `/studies/${framesSeries.studyInstanceUid}/series`;
    const activePaths = [
      { path: '/studies', accept: ACCEPT_JSON },
      { path: series, accept: ACCEPT_JSON },
      { path: `${series}/${framesSeries.seriesInstanceUid}/metadata`, accept: ACCEPT_JSON },
      ...framePaths.map((path) => ({ path, accept: ACCEPT_FRAMES })),
    ];
    for (const target of targets.filter((t) => t.proxy?.kind === 'gateway' && !t.name.startsWith('before'))) await viewersPoint(target, orthanc, activePaths);
  }
  if (wanted('idle-gaps')) {
    for (const target of products.filter((t) => t.proxy)) {
      const probe = await idleGapProbe(target.endpoint, '/studies', ACCEPT_JSON, settings.probe);
      points.push({ workload: 'idle-gaps', target: target.name, probe });
      log(`idle-gaps      ${target.name.padEnd(16)} ${probe.requests} requests in bursts around Orthanc's 1 s keep-alive: ${probe.failed} failed ${JSON.stringify(probe.statuses)}`);
    }
  }
}

function environment(orthanc: BenchOrthanc): Record<string, string | number> {
  const version = (command: string, versionArgs: string[]) => {
    try {
      return execFileSync(command, versionArgs, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    } catch (error) {
      return String((error as { stderr?: string }).stderr ?? '').trim();
    }
  };
  const nginxVersion = (() => {
    try {
      return execFileSync('/usr/sbin/nginx', ['-v'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    } catch {
      return '';
    }
  })();
  return {
    node: process.version,
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    nginx: nginxVersion || version('sh', ['-c', '/usr/sbin/nginx -v 2>&1']),
    orthanc: version('sh', ['-c', "dpkg-query -W -f='${Version}' orthanc 2>/dev/null"]),
    orthancDicomweb: version('sh', ['-c', "dpkg-query -W -f='${Version}' orthanc-dicomweb 2>/dev/null"]),
    orthancUrl: orthanc.url.replace(/:\d+$/, ':<port>'),
    gitCommit: version('git', ['-C', REPO_ROOT, 'rev-parse', '--short', 'HEAD']),
    gateway: `${gatewayRoot === REPO_ROOT ? 'working tree' : gatewayRoot}${compareRoot ? ` (before-*: ${compareRoot})` : ''}, ${entryKind === 'tsx' ? 'through tsx' : 'tsc build'}`,
  };
}

let stopped: Promise<void> | undefined;
function stopAll(): Promise<void> {
  return (stopped ??= (async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  })());
}

exitOnTerminationSignals(async (signal) => {
  log(`${signal}: stopping`);
  await stopAll();
});

const deadline = setTimeout(() => {
  console.error('bench: still running after 15 minutes, giving up');
  void stopAll().then(() => process.exit(2));
}, 15 * 60_000);
deadline.unref();

main()
  .catch(async (error: unknown) => {
    console.error('bench failed:', error instanceof Error ? error.stack : error);
    process.exitCode = 1;
  })
  .finally(() => stopAll());
