/**
 * The gateway's benchmark (issue 8): direct Orthanc, nginx as a plain reverse proxy, and the gateway
 * (Bearer and session cookie), side by side in one run on this machine; plus a trivial upstream to
 * isolate the gateway's own cost against nginx with the same number of worker processes.
 *
 *   npm run bench                          full run (~6 min): bench/results/<label>.json + bench/README.md table
 *   npm run bench -- --smoke               every workload for ~1 s, results to a temp dir (CI)
 *   npm run bench -- --label=before        name of the results file (default: latest)
 *   npm run bench -- --only=qido,trivial   a subset of the workloads (results not written to the README)
 *   npm run bench -- --profile             gateway runs with --cpu-prof; top functions in bench/results/<label>-profile.txt
 *
 * Everything listens on loopback, on free ports, and stops at the end (or when this process dies).
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestIssuer, type TestIssuer } from '../tests/support/test-issuer.js';
import { startRedis, type TestRedis } from '../tests/support/redis.js';
import { makeBenchSeries, type BenchSeries } from './lib/data.js';
import { download, idleGapProbe, median, requestLoad, upload, type Endpoint } from './lib/load.js';
import { deleteStudy, startBenchOrthanc, uploadAll, type BenchOrthanc } from './lib/orthanc.js';
import { UsageMeter, round } from './lib/procstat.js';
import {
  nginxProxySite,
  startGatewayProcess,
  startNginx,
  trivialUpstreamSite,
  type BenchGateway,
  type BenchNginx,
  type BenchProcess,
} from './lib/processes.js';
import { evaluateChecks, renderSummary, updateReadme } from './lib/report.js';
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

const settings = smoke
  ? { requestSeconds: 1, warmupSeconds: 0.3, latencySeconds: 0.5, connections: 4, trivialConnections: 8, framesInstances: 4, largeInstances: 6, stowInstances: 6, wadoRuns: 1, stowRuns: 1, workers: [1], probe: { bursts: 2, perBurst: 2, gapsMs: [1000] } }
  : { requestSeconds: 10, warmupSeconds: 2, latencySeconds: 5, connections: 8, trivialConnections: 16, framesInstances: 50, largeInstances: 400, stowInstances: 400, wadoRuns: 3, stowRuns: 2, workers: [1, 2], probe: { bursts: 10, perBurst: 8, gapsMs: [700, 900, 1000, 1100, 1300] } };

const wanted = (workload: Workload) => !only || only.includes(workload) || only.includes(workload.replace('-latency', ''));
const log = (message: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);

interface Target {
  name: string;
  endpoint: Endpoint;
  proxy?: { kind: 'gateway' | 'nginx'; process: BenchProcess; workers: number };
}

const cleanups: Array<() => Promise<unknown>> = [];
const points: Point[] = [];

/** Runs `work` while metering the target's proxy, the upstream and this process. */
async function measured<T>(target: Target, upstream: BenchProcess, work: () => Promise<T>): Promise<{ result: T; proxy?: ProxyUsage; upstreamCpuSeconds: number; clientCpuSeconds: number }> {
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
  };
}

async function requestPoint(workload: Workload, target: Target, upstream: BenchProcess, paths: string[], accept: string, connections: number, seconds: number) {
  if (settings.warmupSeconds > 0) await requestLoad(target.endpoint, paths, { connections, seconds: settings.warmupSeconds, accept });
  const { result, proxy, upstreamCpuSeconds, clientCpuSeconds } = await measured(target, upstream, () => requestLoad(target.endpoint, paths, { connections, seconds, accept }));
  if (proxy) proxy.cpuMsPerRequest = result.requests ? round((proxy.cpuSeconds * 1000) / result.requests, 4) : undefined;
  points.push({ workload, target: target.name, load: result, proxy, upstreamCpuSeconds, clientCpuSeconds });
  const failures = result.non2xx + result.errors + result.timeouts;
  log(
    `${workload.padEnd(14)} ${target.name.padEnd(16)} ${String(result.reqPerSec).padStart(6)} req/s  p50 ${result.p50Ms.toFixed(2)} ms  p99 ${result.p99Ms.toFixed(2)} ms  ${result.mbPerSec} MB/s` +
      (proxy ? `  proxy cpu ${proxy.cpuSeconds}s rss ${proxy.peakRssMb} MB` : '') +
      (failures ? `  FAILURES ${JSON.stringify(result.statusCodes)} errors=${result.errors} timeouts=${result.timeouts}` : ''),
  );
}

async function transferPoint(workload: 'wado-study' | 'stow', target: Target, upstream: BenchProcess, runs: number, once: () => Promise<{ status: number; bytes: number; seconds: number }>, before?: () => Promise<void>) {
  const seconds: number[] = [];
  const statuses: number[] = [];
  let bytes = 0;
  const { proxy, upstreamCpuSeconds, clientCpuSeconds } = await measured(target, upstream, async () => {
    for (let run = 0; run < runs; run++) {
      if (before) await before();
      const result = await once();
      seconds.push(round(result.seconds, 3));
      statuses.push(result.status);
      bytes = result.bytes;
    }
  });
  const mbPerSec = round(median(seconds.map((s) => bytes / 1e6 / s)), 1);
  if (proxy) proxy.cpuMsPerMb = round((proxy.cpuSeconds * 1000) / ((bytes / 1e6) * runs), 3);
  points.push({ workload, target: target.name, transfer: { runs, bytes, mbPerSec, secondsPerRun: seconds, statuses }, proxy, upstreamCpuSeconds, clientCpuSeconds });
  const bad = statuses.filter((status) => status !== 200);
  log(
    `${workload.padEnd(14)} ${target.name.padEnd(16)} ${String(mbPerSec).padStart(6)} MB/s  (${(bytes / 1e6).toFixed(0)} MB × ${runs}: ${seconds.join(', ')} s)` +
      (proxy ? `  proxy cpu ${proxy.cpuSeconds}s rss ${proxy.startRssMb}→${proxy.peakRssMb} MB` : '') +
      (bad.length ? `  FAILED statuses ${statuses.join(',')}` : ''),
  );
}

async function main(): Promise<void> {
  const started = new Date();
  const dir = await mkdtemp(join(tmpdir(), 'gateway-bench-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const profileDir = join(dir, 'profiles');
  const nodeFlags = (name: string) => (profile ? ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, name)}`] : []);
  log(`${smoke ? 'smoke run' : 'full run'} in ${dir}`);

  // --- data ---------------------------------------------------------------------------
  const framesSeries = makeBenchSeries(settings.framesInstances, { patientId: 'BENCH-FRAMES', description: 'frames' });
  const largeStudy = makeBenchSeries(settings.largeInstances, { patientId: 'BENCH-LARGE', description: 'large' });
  const stowStudy = makeBenchSeries(settings.stowInstances, { patientId: 'BENCH-STOW', description: 'stow' });
  log(`data: ${framesSeries.files.length} + ${largeStudy.files.length} + ${stowStudy.files.length} instances, ${((framesSeries.bytes + largeStudy.bytes + stowStudy.bytes) / 1e6).toFixed(0)} MB`);

  // --- upstreams, issuer, Redis -------------------------------------------------------------
  const [orthanc, redis, issuer] = await Promise.all([startBenchOrthanc(dir), startRedis(), startTestIssuer()]);
  cleanups.push(() => orthanc.stop(), () => redis.stop(), () => issuer.stop());
  const setupStarted = Date.now();
  await uploadAll(orthanc, [...framesSeries.files, ...largeStudy.files]);
  log(`uploaded ${framesSeries.files.length + largeStudy.files.length} instances to Orthanc in ${((Date.now() - setupStarted) / 1000).toFixed(1)} s`);

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

  const orthancWorkloads = (['qido', 'frames', 'qido-latency', 'frames-latency', 'wado-study', 'stow', 'idle-gaps'] as Workload[]).some(wanted);
  if (orthancWorkloads) await orthancSuite({ dir, orthanc, redis, issuer, accessToken, claims, gatewayEnv, nodeFlags, framesSeries, largeStudy, stowStudy });
  if (wanted('trivial')) await trivialSuite({ dir, accessToken, gatewayEnv, nodeFlags });

  // --- results ----------------------------------------------------------------------------
  const results: BenchResults = {
    label,
    smoke,
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    environment: environment(orthanc),
    settings,
    points,
    checks: [],
  };
  results.checks = evaluateChecks(results);
  await stopAll();
  const summary = renderSummary(results);
  console.log(`\n${summary}`);
  if (profile) {
    const text = await summarizeProfiles(profileDir);
    console.log(text);
    if (outDir) await writeFile(join(outDir, `${label}-profile.txt`), text);
  }
  const target = outDir ?? (await mkdtemp(join(tmpdir(), 'gateway-bench-results-')));
  await mkdir(target, { recursive: true });
  await writeFile(join(target, `${label}.json`), `${JSON.stringify(results, null, 2)}\n`);
  log(`results: ${join(target, `${label}.json`)}`);
  if (!smoke && !only && outDir) await updateReadme(join(REPO_ROOT, 'bench', 'README.md'), summary);
  const failedRuns = points.some((point) => (point.load && point.load.non2xx + point.load.errors + point.load.timeouts > 0) || point.transfer?.statuses.some((status) => status !== 200) || (point.probe?.failed ?? 0) > 0);
  if (failedRuns) {
    console.error('some requests failed (non-2xx, socket errors or timeouts): see above');
    process.exitCode = 1;
  }
}

interface OrthancSuite {
  dir: string;
  orthanc: BenchOrthanc;
  redis: TestRedis;
  issuer: TestIssuer;
  accessToken: string;
  claims: Awaited<ReturnType<TestIssuer['accessClaims']>>;
  gatewayEnv: (upstream: { url: string; username: string; password: string }) => Record<string, string>;
  nodeFlags: (name: string) => string[];
  framesSeries: BenchSeries;
  largeStudy: BenchSeries;
  stowStudy: BenchSeries;
}

async function orthancSuite(suite: OrthancSuite): Promise<void> {
  const { dir, orthanc, redis, accessToken, claims, framesSeries, largeStudy, stowStudy } = suite;
  const [gateway, nginx] = await Promise.all([
    startGatewayProcess({ env: suite.gatewayEnv(orthanc), workers: 1, nodeFlags: suite.nodeFlags('gateway'), dir, name: 'gateway', repoRoot: REPO_ROOT }),
    startNginx('proxy', dir, nginxProxySite(orthanc.url, orthanc.authorization, 1)),
  ]);
  cleanups.push(() => gateway.stop(), () => nginx.stop());
  const cookie = await createSessionCookie({ redisUrl: redis.url, secret: SESSION_SECRET, accessToken, claims });
  const targets: Target[] = [
    { name: 'direct', endpoint: { base: orthanc.url, prefix: '/dicom-web', headers: { authorization: orthanc.authorization } } },
    { name: 'nginx', endpoint: { base: nginx.url, prefix: '/dicom-web', headers: {} }, proxy: { kind: 'nginx', process: nginx, workers: 1 } },
    { name: 'gateway-bearer', endpoint: { base: gateway.url, prefix: '/pacs/dicom-web', headers: { authorization: `Bearer ${accessToken}` } }, proxy: { kind: 'gateway', process: gateway, workers: 1 } },
    { name: 'gateway-session', endpoint: { base: gateway.url, prefix: '/pacs/dicom-web', headers: { cookie, origin: gateway.url } }, proxy: { kind: 'gateway', process: gateway, workers: 1 } },
  ];
  // Every target must answer before anything is measured.
  for (const target of targets) {
    const check = await download(target.endpoint, '/studies', ACCEPT_JSON);
    if (check.status !== 200) throw new Error(`${target.name}: GET /studies answered ${check.status}`);
  }

  const framePaths = framesSeries.sopInstanceUids.map((sop) => `/studies/${framesSeries.studyInstanceUid}/series/${framesSeries.seriesInstanceUid}/instances/${sop}/frames/1`);
  const { connections, requestSeconds, latencySeconds } = settings;
  if (wanted('qido')) for (const target of targets) await requestPoint('qido', target, orthanc, ['/studies'], ACCEPT_JSON, connections, requestSeconds);
  if (wanted('qido-latency')) for (const target of targets) await requestPoint('qido-latency', target, orthanc, ['/studies'], ACCEPT_JSON, 1, latencySeconds);
  if (wanted('frames')) for (const target of targets) await requestPoint('frames', target, orthanc, framePaths, ACCEPT_FRAMES, connections, requestSeconds);
  if (wanted('frames-latency')) for (const target of targets) await requestPoint('frames-latency', target, orthanc, framePaths, ACCEPT_FRAMES, 1, latencySeconds);
  if (wanted('wado-study')) {
    for (const target of targets) {
      await transferPoint('wado-study', target, orthanc, settings.wadoRuns, () => download(target.endpoint, `/studies/${largeStudy.studyInstanceUid}`, ACCEPT_DICOM));
    }
  }
  if (wanted('stow')) {
    for (const target of targets) {
      await transferPoint('stow', target, orthanc, settings.stowRuns, () => upload(target.endpoint, '/studies', stowStudy.files), () => deleteStudy(orthanc, stowStudy.studyInstanceUid));
    }
    await deleteStudy(orthanc, stowStudy.studyInstanceUid);
  }
  if (wanted('idle-gaps')) {
    for (const target of targets.filter((t) => t.proxy)) {
      const probe = await idleGapProbe(target.endpoint, '/studies', ACCEPT_JSON, settings.probe);
      points.push({ workload: 'idle-gaps', target: target.name, probe });
      log(`idle-gaps      ${target.name.padEnd(16)} ${probe.requests} requests in bursts around Orthanc's 1 s keep-alive: ${probe.failed} failed ${JSON.stringify(probe.statuses)}`);
    }
  }
  await Promise.all([gateway.stop(), nginx.stop()]);
}

async function trivialSuite({ dir, accessToken, gatewayEnv, nodeFlags }: { dir: string; accessToken: string; gatewayEnv: OrthancSuite['gatewayEnv']; nodeFlags: OrthancSuite['nodeFlags'] }): Promise<void> {
  const upstream = await startNginx('trivial-upstream', dir, trivialUpstreamSite);
  cleanups.push(() => upstream.stop());
  const credential = { url: upstream.url, username: 'bench', password: 'bench-password' };
  const authorization = `Basic ${Buffer.from('bench:bench-password').toString('base64')}`;
  const direct: Target = { name: 'upstream', endpoint: { base: upstream.url, prefix: '/dicom-web', headers: { authorization } } };
  await requestPoint('trivial', direct, upstream, ['/studies'], ACCEPT_JSON, settings.trivialConnections, settings.requestSeconds);
  for (const workers of settings.workers) {
    const [gateway, nginx]: [BenchGateway, BenchNginx] = await Promise.all([
      startGatewayProcess({ env: gatewayEnv(credential), workers, nodeFlags: nodeFlags(`gateway-trivial-${workers}w`), dir, name: `gateway-trivial-${workers}w`, repoRoot: REPO_ROOT }),
      startNginx(`trivial-proxy-${workers}w`, dir, nginxProxySite(upstream.url, authorization, workers)),
    ]);
    cleanups.push(() => gateway.stop(), () => nginx.stop());
    const targets: Target[] = [
      { name: `nginx-${workers}w`, endpoint: { base: nginx.url, prefix: '/dicom-web', headers: {} }, proxy: { kind: 'nginx', process: nginx, workers } },
      { name: `gateway-${workers}w`, endpoint: { base: gateway.url, prefix: '/pacs/dicom-web', headers: { authorization: `Bearer ${accessToken}` } }, proxy: { kind: 'gateway', process: gateway, workers } },
    ];
    for (const target of targets) await requestPoint('trivial', target, upstream, ['/studies'], ACCEPT_JSON, settings.trivialConnections, settings.requestSeconds);
    await Promise.all([gateway.stop(), nginx.stop()]);
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
  };
}

let stopped: Promise<void> | undefined;
function stopAll(): Promise<void> {
  return (stopped ??= (async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  })());
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping`);
    void stopAll().then(() => process.exit(130));
  });
}

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
