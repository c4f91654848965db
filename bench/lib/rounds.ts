import { median, type RequestLoadResult } from './load.js';
import { round, type Usage } from './procstat.js';

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);

/** What one target did in one round of a request point (kept in the results as the point's `rounds`). */
export interface RoundResult {
  load: RequestLoadResult;
  usage?: Usage;
  upstreamCpuSeconds: number;
  clientCpuSeconds: number;
  foreignCpuShare: number;
}

export interface RoundSummary {
  reqPerSec: number;
  p50Ms: number;
  cpuMsPerRequest?: number;
  foreignCpuShare: number;
}

/**
 * One target's rounds as one point: throughput and latency percentiles are the medians of the rounds
 * (a round that met a slow state of the machine moves them least); CPU per request is the total CPU
 * over the total requests (CPU is counted, not sampled: a round with fewer requests weighs less);
 * counts add up; the other load is the mean.
 */
export function combineRounds(rounds: readonly RoundResult[]): { load: RequestLoadResult; usage?: Usage; cpuMsPerRequest?: number; upstreamCpuSeconds: number; clientCpuSeconds: number; foreignCpuShare: number; rounds: RoundSummary[] } {
  if (rounds.length === 0) throw new Error('combineRounds: no rounds');
  const loads = rounds.map((r) => r.load);
  const statusCodes: Record<string, number> = {};
  for (const load of loads) for (const [code, count] of Object.entries(load.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + count;
  const load: RequestLoadResult = {
    connections: loads[0]!.connections,
    seconds: round(sum(loads.map((l) => l.seconds)), 2),
    requests: sum(loads.map((l) => l.requests)),
    reqPerSec: round(median(loads.map((l) => l.reqPerSec)), 0),
    p50Ms: round(median(loads.map((l) => l.p50Ms)), 3),
    p90Ms: round(median(loads.map((l) => l.p90Ms)), 3),
    p99Ms: round(median(loads.map((l) => l.p99Ms)), 3),
    mbPerSec: round(median(loads.map((l) => l.mbPerSec)), 1),
    non2xx: sum(loads.map((l) => l.non2xx)),
    errors: sum(loads.map((l) => l.errors)),
    timeouts: sum(loads.map((l) => l.timeouts)),
    statusCodes,
  };
  const usages = rounds.flatMap((r) => (r.usage ? [r.usage] : []));
  const usage = usages.length === rounds.length ? sumUsage(usages) : undefined;
  const perRequest = (cpuSeconds: number, requests: number) => (requests ? round((cpuSeconds * 1000) / requests, 4) : undefined);
  return {
    load,
    usage,
    cpuMsPerRequest: usage ? perRequest(usage.cpuSeconds, load.requests) : undefined,
    upstreamCpuSeconds: round(sum(rounds.map((r) => r.upstreamCpuSeconds)), 3),
    clientCpuSeconds: round(sum(rounds.map((r) => r.clientCpuSeconds)), 2),
    foreignCpuShare: round(sum(rounds.map((r) => r.foreignCpuShare)) / rounds.length, 3),
    rounds: rounds.map((r) => ({
      reqPerSec: r.load.reqPerSec,
      p50Ms: r.load.p50Ms,
      ...(r.usage ? { cpuMsPerRequest: perRequest(r.usage.cpuSeconds, r.load.requests) } : {}),
      foreignCpuShare: r.foreignCpuShare,
    })),
  };
}

/** Usage over several metered intervals of one process: CPU and faults summed, the largest peak RSS, the first start RSS. */
export function sumUsage(usages: readonly Usage[]): Usage {
  return {
    cpuSeconds: round(sum(usages.map((u) => u.cpuSeconds)), 3),
    systemSeconds: round(sum(usages.map((u) => u.systemSeconds)), 3),
    minorFaults: sum(usages.map((u) => u.minorFaults)),
    peakRssMb: Math.max(...usages.map((u) => u.peakRssMb)),
    startRssMb: usages[0]!.startRssMb,
  };
}
