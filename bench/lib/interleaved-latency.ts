import http from 'node:http';
import { round } from './procstat.js';
import { latencySummary, median, type Endpoint, type RequestLoadResult } from './load.js';

/**
 * One-connection latency of several targets measured request by request in turn (direct, nginx,
 * gateway, direct, nginx, gateway…), each on its own keep-alive connection. On this machine a single
 * target's one-connection latency moves 2–4 × between states of the machine that last seconds
 * (bench/README.md, Issue 16, section 20: direct Orthanc's frame p50 2.7 ms in one round and 9 ms in the
 * next); targets measured one after the other then compare two states, not two proxies. Turn by turn,
 * every target meets the same states, and what a proxy adds is the difference of the same turns.
 */
export interface LatencyTarget {
  name: string;
  endpoint: Endpoint;
}

interface Sample {
  ms: number;
  status: number;
  bytes: number;
}

/** The median of `target[i] − reference[i]` over the turns where both answered 2xx. */
export function pairedMedianDifference(target: ReadonlyArray<number | undefined>, reference: ReadonlyArray<number | undefined>): number | undefined {
  const differences: number[] = [];
  for (let turn = 0; turn < Math.min(target.length, reference.length); turn++) {
    const a = target[turn];
    const b = reference[turn];
    if (a !== undefined && b !== undefined) differences.push(a - b);
  }
  return differences.length ? median(differences) : undefined;
}

/**
 * The order of the targets in one turn, shuffled afresh every turn (Fisher–Yates). A fixed or
 * rotated order keeps the targets' cyclic order: the gateway's session requests then always came
 * right after its Bearer requests, on a process the previous request had just woken, and measured
 * ~0.4 ms faster than Bearer.
 */
export function shuffledOrder(count: number, random: () => number = Math.random): number[] {
  const order = Array.from({ length: count }, (_, index) => index);
  for (let index = count - 1; index > 0; index--) {
    const other = Math.floor(random() * (index + 1));
    [order[index], order[other]] = [order[other]!, order[index]!];
  }
  return order;
}

function timedGet(endpoint: Endpoint, path: string, accept: string, agent: http.Agent): Promise<Sample> {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    const req = http.get(endpoint.base + endpoint.prefix + path, { agent, headers: { ...endpoint.headers, accept } }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => resolve({ ms: Number(process.hrtime.bigint() - started) / 1e6, status: res.statusCode ?? 0, bytes }));
      res.on('error', () => resolve({ ms: NaN, status: 0, bytes }));
    });
    req.on('error', () => resolve({ ms: NaN, status: 0, bytes: 0 }));
  });
}

/**
 * Turn after turn until `seconds` have passed (or `turns` turns, if given, whichever comes first):
 * one request to each target in the turn's order, paths taken in sequence. Results come in the
 * order of `targets`; the first target is the reference of `pairedAddedP50Ms`.
 */
export async function interleavedLatency(
  targets: readonly LatencyTarget[],
  paths: readonly string[],
  { seconds, turns, accept }: { seconds: number; turns?: number; accept: string },
): Promise<RequestLoadResult[]> {
  const agents = targets.map(() => new http.Agent({ keepAlive: true, maxSockets: 1 }));
  const samples: Array<Array<Sample>> = targets.map(() => []);
  const started = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
  try {
    for (let turn = 0; elapsed() < seconds && (turns === undefined || turn < turns); turn++) {
      const path = paths[turn % paths.length]!;
      for (const index of shuffledOrder(targets.length)) samples[index]!.push(await timedGet(targets[index]!.endpoint, path, accept, agents[index]!));
    }
  } finally {
    for (const agent of agents) agent.destroy();
  }
  const total = elapsed();
  const okLatencies = (list: Sample[]) => list.map((sample) => (sample.status >= 200 && sample.status < 300 ? sample.ms : undefined));
  const reference = okLatencies(samples[0]!);
  return samples.map((list, index) => {
    const ok = list.filter((sample) => sample.status >= 200 && sample.status < 300);
    const statusCodes: Record<string, number> = {};
    for (const sample of list) if (sample.status) statusCodes[sample.status] = (statusCodes[sample.status] ?? 0) + 1;
    const added = index === 0 ? undefined : pairedMedianDifference(okLatencies(list), reference);
    return {
      connections: 1,
      seconds: round(total, 2),
      requests: ok.length,
      reqPerSec: round(ok.length / total, 0),
      ...latencySummary(ok.map((sample) => sample.ms)),
      mbPerSec: round(ok.reduce((sum, sample) => sum + sample.bytes, 0) / 1e6 / total, 1),
      non2xx: list.filter((sample) => sample.status !== 0 && (sample.status < 200 || sample.status >= 300)).length,
      errors: list.filter((sample) => sample.status === 0).length,
      timeouts: 0,
      statusCodes,
      ...(added === undefined ? {} : { pairedAddedP50Ms: round(added, 3) }),
    };
  });
}
