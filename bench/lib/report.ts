import { readFile, writeFile } from 'node:fs/promises';
import { round } from './procstat.js';
import type { RequestLoadResult } from './load.js';
import type { BenchResults, Check, Point, Workload } from './types.js';

/** The reference points of a point: direct Orthanc (or the trivial upstream) and nginx with the same workers. */
function references(results: BenchResults, point: Point): { direct?: Point; nginx?: Point } {
  const same = (workload: Workload, target: string) => results.points.find((p) => p.workload === workload && p.target === target);
  if (point.workload === 'trivial') {
    const workers = /-(\d+)w$/.exec(point.target)?.[1];
    return { direct: same('trivial', 'upstream'), nginx: workers ? same('trivial', `nginx-${workers}w`) : undefined };
  }
  return { direct: same(point.workload, 'direct'), nginx: same(point.workload, 'nginx') };
}

/** What a target adds to direct Orthanc at one connection: the paired median of the interleaved turns, else the difference of the p50s. */
const addedOverDirect = (load: RequestLoadResult | undefined, direct: RequestLoadResult | undefined) =>
  load === undefined || direct === undefined ? undefined : round(load.pairedAddedP50Ms ?? load.p50Ms - direct.p50Ms, 3);

const ratio = (value: number | undefined, reference: number | undefined) =>
  value !== undefined && reference !== undefined && reference > 0 ? round(value / reference, 2) : undefined;
/** CPU share other work on the machine took during the point (0 % on a quiet machine). */
const otherLoad = (point: Point) => (point.foreignCpuShare === undefined ? '–' : `${Math.round(point.foreignCpuShare * 100)} %`);
const show = (value: number | undefined | null, suffix = '') => (value === undefined || value === null || Number.isNaN(value) ? '–' : `${value}${suffix}`);

/**
 * Issue 16's targets, each as a ratio of the same run: the gateway against nginx (and against the
 * bare node:http proxy, and direct Orthanc for one-connection latency). Throughput targets are at
 * the run's connection count (`connections` in results.settings).
 */
export function evaluateChecks(results: BenchResults): Check[] {
  const find = (workload: Workload, target: string) => results.points.find((p) => p.workload === workload && p.target === target);
  const checks: Check[] = [];
  const add = (name: string, target: string, value: number | undefined, pass: (v: number) => boolean) =>
    checks.push({ name, target, value: value ?? null, pass: value === undefined ? null : pass(value) });
  const cpu = (point: Point | undefined) => point?.proxy?.cpuMsPerRequest ?? point?.proxy?.cpuMsPerMb;

  for (const workload of ['qido', 'frames'] as const) {
    const nginx = find(workload, 'nginx');
    for (const via of ['bearer', 'session'] as const) {
      const gateway = find(workload, `gateway-${via}`);
      add(`${workload}: gateway (${via}) req/s ÷ nginx`, '≥ 0.95', ratio(gateway?.load?.reqPerSec, nginx?.load?.reqPerSec), (v) => v >= 0.95);
      const limit = workload === 'frames' ? 2 : 4;
      add(`${workload}: gateway (${via}) CPU per request ÷ nginx`, `≤ ${limit}`, ratio(cpu(gateway), cpu(nginx)), (v) => v <= limit);
    }
    add(`${workload}: session CPU per request ÷ Bearer`, '≤ 1.1', ratio(cpu(find(workload, 'gateway-session')), cpu(find(workload, 'gateway-bearer'))), (v) => v <= 1.1);
  }
  const directLatency = find('frames-latency', 'direct')?.load;
  const frameLatency = find('frames-latency', 'gateway-bearer')?.load;
  add('frames, 1 connection: p50 added over direct Orthanc (Bearer), ms', '≤ 0.5 ms', addedOverDirect(frameLatency, directLatency), (v) => v <= 0.5);
  add('frames, 1 connection: p90 ÷ direct Orthanc (Bearer)', '≤ 1.3', ratio(frameLatency?.p90Ms, directLatency?.p90Ms), (v) => v <= 1.3);
  // The floors of the same run, so a missed target can be read against what a proxy costs at all.
  for (const floor of ['nginx', 'node-proxy'] as const) {
    const load = find('frames-latency', floor)?.load;
    add(`frames, 1 connection: p50 added over direct Orthanc by ${floor}, ms (floor)`, 'reported', addedOverDirect(load, directLatency), (v) => Number.isFinite(v));
    add(`frames, 1 connection: p90 ÷ direct Orthanc, ${floor} (floor)`, 'reported', ratio(load?.p90Ms, directLatency?.p90Ms), (v) => Number.isFinite(v));
  }
  add('qido: bare pooled node proxy with the URL rewrite, CPU per request ÷ nginx (floor)', 'reported', ratio(cpu(find('qido', 'node-proxy')), cpu(find('qido', 'nginx'))), (v) => Number.isFinite(v));
  for (const workload of ['wado-study', 'stow'] as const) {
    const bearer = find(workload, 'gateway-bearer');
    const nginx = find(workload, 'nginx');
    add(`${workload}: gateway (Bearer) MB/s ÷ nginx`, '≥ 0.95', ratio(bearer?.transfer?.mbPerSec, nginx?.transfer?.mbPerSec), (v) => v >= 0.95);
    add(`${workload}: gateway (Bearer) CPU per MB ÷ nginx`, '≤ 1.5', ratio(cpu(bearer), cpu(nginx)), (v) => v <= 1.5);
    add(`${workload}: gateway RSS growth, MB`, '< 50 MB', bearer?.proxy?.rssGrowthMb, (v) => v < 50);
  }
  for (const point of results.points.filter((p) => p.workload === 'trivial' && /^gateway-1w$/.test(p.target))) {
    add('trivial upstream: gateway-1w CPU per request ÷ bare node:http proxy', '≤ 2', ratio(cpu(point), cpu(find('trivial', 'node-proxy-1w'))), (v) => v <= 2);
  }
  for (const via of ['bearer', 'session'] as const) {
    const point = find('viewers', `gateway-${via}`);
    const failed = point?.load && point.viewers ? point.load.non2xx + point.load.errors + point.load.timeouts + point.viewers.idle.failed : undefined;
    add(`many viewers (${via}): failed requests, idle and active connections`, '0', failed, (v) => v === 0);
    add(`many viewers (${via}): p99 of the active connections, ms`, 'reported', point?.load?.p99Ms, (v) => Number.isFinite(v));
    add(`many viewers (${via}): gateway peak RSS, MB`, '< 300 MB', point?.proxy?.peakRssMb, (v) => v < 300);
    add(`many viewers (${via}): event-loop delay p99 from /metrics, ms`, 'reported', point?.viewers?.eventLoopDelay?.p99Ms, (v) => Number.isFinite(v));
  }
  const failures = results.points.reduce(
    (sum, p) =>
      sum + (p.load ? p.load.non2xx + p.load.errors + p.load.timeouts : 0) + (p.transfer?.statuses.filter((s) => s !== 200).length ?? 0) + (p.probe?.failed ?? 0) + (p.viewers?.idle.failed ?? 0),
    0,
  );
  add('failed requests (non-2xx, socket errors, timeouts), all points incl. idle-gap bursts', '0', failures, (v) => v === 0);
  return checks;
}

function requestTable(results: BenchResults, workloads: Workload[]): string {
  const rows = results.points.filter((p) => workloads.includes(p.workload) && p.load);
  if (rows.length === 0) return '';
  const lines = [
    '| workload | target | conns | req/s | p50 ms | p99 ms | MB/s | req/s × direct | req/s × nginx | proxy CPU ms/req | proxy CPU × nginx | proxy peak RSS MB | failed | other load |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const point of rows) {
    const load = point.load!;
    const { direct, nginx } = references(results, point);
    const isNginx = point.proxy?.kind === 'nginx';
    lines.push(
      `| ${point.workload} | ${point.target} | ${load.connections} | ${load.reqPerSec} | ${load.p50Ms.toFixed(2)} | ${load.p99Ms.toFixed(2)} | ${load.mbPerSec} | ` +
        `${point === direct ? '1' : show(ratio(load.reqPerSec, direct?.load?.reqPerSec))} | ${isNginx || !nginx ? '–' : show(ratio(load.reqPerSec, nginx.load?.reqPerSec))} | ` +
        `${show(point.proxy?.cpuMsPerRequest)} | ${isNginx ? '–' : show(ratio(point.proxy?.cpuMsPerRequest, nginx?.proxy?.cpuMsPerRequest))} | ${show(point.proxy?.peakRssMb)} | ${load.non2xx + load.errors + load.timeouts} | ${otherLoad(point)} |`,
    );
  }
  return lines.join('\n');
}

function latencyTable(results: BenchResults): string {
  const rows = results.points.filter((p) => (p.workload === 'qido-latency' || p.workload === 'frames-latency') && p.load);
  if (rows.length === 0) return '';
  const lines = ['| workload (1 connection, targets in turn) | target | p50 ms | p90 ms | p99 ms | p50 added vs direct (paired), ms | req/s | other load |', '|---|---|--:|--:|--:|--:|--:|--:|'];
  for (const point of rows) {
    const { direct } = references(results, point);
    const added = point !== direct ? addedOverDirect(point.load, direct?.load) : undefined;
    lines.push(`| ${point.workload} | ${point.target} | ${point.load!.p50Ms.toFixed(3)} | ${point.load!.p90Ms.toFixed(3)} | ${point.load!.p99Ms.toFixed(3)} | ${show(added)} | ${point.load!.reqPerSec} | ${otherLoad(point)} |`);
  }
  return lines.join('\n');
}

function transferTable(results: BenchResults): string {
  const rows = results.points.filter((p) => p.transfer);
  if (rows.length === 0) return '';
  const lines = [
    '| workload | target | MB | runs | MB/s (median) | × direct | × nginx | proxy CPU ms/MB | proxy CPU × nginx | proxy RSS start → peak MB (growth) | other load |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const point of rows) {
    const transfer = point.transfer!;
    const { direct, nginx } = references(results, point);
    const isNginx = point.proxy?.kind === 'nginx';
    const rss = point.proxy ? `${point.proxy.startRssMb} → ${point.proxy.peakRssMb} (+${point.proxy.rssGrowthMb})` : '–';
    lines.push(
      `| ${point.workload} | ${point.target} | ${(transfer.bytes / 1e6).toFixed(0)} | ${transfer.runs} | ${transfer.mbPerSec} | ${point === direct ? '1' : show(ratio(transfer.mbPerSec, direct?.transfer?.mbPerSec))} | ` +
        `${isNginx || !nginx ? '–' : show(ratio(transfer.mbPerSec, nginx.transfer?.mbPerSec))} | ${show(point.proxy?.cpuMsPerMb)} | ${isNginx ? '–' : show(ratio(point.proxy?.cpuMsPerMb, nginx?.proxy?.cpuMsPerMb))} | ${rss} | ${otherLoad(point)} |`,
    );
  }
  return lines.join('\n');
}

function viewersTable(results: BenchResults): string {
  const rows = results.points.filter((p) => p.viewers && p.load);
  if (rows.length === 0) return '';
  const lines = [
    '| many viewers | idle connections (pings, reopened, failed, longest gap ms) | active connections | req/s | p50 ms | p99 ms | MB/s | failed (active) | event-loop delay p50 / p99 / max, ms | proxy CPU ms/req | proxy RSS start → peak MB | other load |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const point of rows) {
    const { idle, eventLoopDelay: delay } = point.viewers!;
    const load = point.load!;
    const rss = point.proxy ? `${point.proxy.startRssMb} → ${point.proxy.peakRssMb}` : '–';
    lines.push(
      `| ${point.target} | ${idle.connections} (${idle.requests}, ${idle.reopened}, ${idle.failed}, ${idle.maxGapMs ?? '–'}) | ${load.connections} | ${load.reqPerSec} | ${load.p50Ms.toFixed(2)} | ${load.p99Ms.toFixed(2)} | ${load.mbPerSec} | ` +
        `${load.non2xx + load.errors + load.timeouts} | ${delay ? `${show(delay.p50Ms)} / ${show(delay.p99Ms)} / ${show(delay.maxMs)}` : '–'} | ${show(point.proxy?.cpuMsPerRequest)} | ${rss} | ${otherLoad(point)} |`,
    );
  }
  return lines.join('\n');
}

function probeTable(results: BenchResults): string {
  const rows = results.points.filter((p) => p.probe);
  if (rows.length === 0) return '';
  const lines = ['| idle-gap bursts (gaps 0.7–1.3 s, Orthanc keep-alive 1 s) | requests | failed |', '|---|--:|--:|'];
  for (const point of rows) lines.push(`| ${point.target} | ${point.probe!.requests} | ${point.probe!.failed} |`);
  return lines.join('\n');
}

/** The gateway now (`gateway-bearer`, `gateway-1w`) against the --compare-root gateway (`before-*`), measured in the same run. */
function comparisonTable(results: BenchResults): string {
  const pairs = results.points
    .filter((p) => (p.target === 'before-bearer' || p.target === 'before-1w') && (p.load || p.transfer))
    .map((before) => ({ before, after: results.points.find((p) => p.workload === before.workload && p.target === (before.target === 'before-1w' ? 'gateway-1w' : 'gateway-bearer')) }))
    .filter((pair): pair is { before: Point; after: Point } => pair.after !== undefined);
  if (pairs.length === 0) return '';
  const lines = [
    '| workload | before: req/s or MB/s | after | × | before: p50 ms | after | before: CPU ms/req or ms/MB | after | × | before: RSS growth MB | after |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const { before, after } of pairs) {
    const rate = (p: Point) => p.load?.reqPerSec ?? p.transfer?.mbPerSec;
    const cpu = (p: Point) => p.proxy?.cpuMsPerRequest ?? p.proxy?.cpuMsPerMb;
    const p50 = (p: Point) => (p.load ? p.load.p50Ms.toFixed(2) : '–');
    lines.push(
      `| ${before.workload} | ${show(rate(before))} | ${show(rate(after))} | ${show(ratio(rate(after), rate(before)))} | ${p50(before)} | ${p50(after)} | ` +
        `${show(cpu(before))} | ${show(cpu(after))} | ${show(ratio(cpu(after), cpu(before)))} | ${show(before.proxy?.rssGrowthMb)} | ${show(after.proxy?.rssGrowthMb)} |`,
    );
  }
  return lines.join('\n');
}

function checkTable(checks: Check[]): string {
  const lines = ['| issue 16 target (ratios of the same run) | goal | measured | met |', '|---|---|--:|:-:|'];
  for (const check of checks) lines.push(`| ${check.name} | ${check.target} | ${show(check.value)} | ${check.pass === null ? '–' : check.pass ? 'yes' : '**no**'} |`);
  return lines.join('\n');
}

export function renderSummary(results: BenchResults): string {
  const env = results.environment;
  return [
    `Run \`${results.label}\` of ${results.startedAt.slice(0, 16).replace('T', ' ')} UTC (commit ${env['gitCommit']}; gateway: ${env['gateway']}): ${env['cpus']} CPUs (${env['cpuModel']}), Node ${env['node']}, ` +
      `${env['nginx']}, Orthanc ${env['orthanc']} + DICOMweb ${env['orthancDicomweb']}. Load generator, proxies and Orthanc share the machine ` +
      `(load average ${env['loadAverageBefore']} before, ${env['loadAverageAfter']} after; "other load": CPU share other work on the machine used during a point).`,
    checkTable(results.checks),
    comparisonTable(results),
    requestTable(results, ['qido', 'frames']),
    latencyTable(results),
    transferTable(results),
    requestTable(results, ['trivial']),
    viewersTable(results),
    probeTable(results),
  ]
    .filter(Boolean)
    .join('\n\n');
}

const START = '<!-- bench:summary:start -->';
const END = '<!-- bench:summary:end -->';

/** Replaces the generated part of bench/README.md (between the markers), leaving the prose alone. */
export async function updateReadme(file: string, summary: string): Promise<void> {
  const text = await readFile(file, 'utf8').catch(() => `# Benchmarks\n\n${START}\n${END}\n`);
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  const block = `${START}\n${summary}\n${END}`;
  const next = start >= 0 && end > start ? text.slice(0, start) + block + text.slice(end + END.length) : `${text.trimEnd()}\n\n${block}\n`;
  await writeFile(file, next);
}
