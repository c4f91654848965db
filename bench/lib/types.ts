import type { RequestLoadResult, TransferResult } from './load.js';
import type { IdleConnectionsResult } from './viewers.js';
import type { Usage } from './procstat.js';
import type { RoundSummary } from './rounds.js';

export type Workload = 'qido' | 'frames' | 'qido-latency' | 'frames-latency' | 'wado-study' | 'stow' | 'trivial' | 'idle-gaps' | 'viewers';

export interface ProxyUsage extends Usage {
  kind: 'gateway' | 'nginx' | 'node';
  workers: number;
  /** CPU milliseconds per request (request workloads) or per MB (transfers). */
  cpuMsPerRequest?: number;
  cpuMsPerMb?: number;
  /** peakRssMb - startRssMb */
  rssGrowthMb: number;
}

export interface Point {
  workload: Workload;
  target: string;
  load?: RequestLoadResult;
  transfer?: TransferResult;
  probe?: { requests: number; failed: number; errors: number; statuses: Record<string, number> };
  /** The "many viewers" point: `load` is its active connections, these its idle ones and the gateway's event-loop delay. */
  viewers?: { idle: IdleConnectionsResult; eventLoopDelay?: { p50Ms: number; p90Ms: number; p99Ms: number; maxMs: number } };
  proxy?: ProxyUsage;
  /** Request points: each round of this target (the point's numbers are their medians, its CPU their total). */
  rounds?: RoundSummary[];
  /** CPU seconds Orthanc (or the trivial upstream) spent during the point. */
  upstreamCpuSeconds?: number;
  /** CPU seconds of the benchmark process itself (load generator / streaming client). */
  clientCpuSeconds?: number;
  /** Share of the machine's CPU that other work (not this benchmark) used during the point: 0 = quiet. */
  foreignCpuShare?: number;
}

export interface Check {
  name: string;
  target: string;
  value: number | null;
  pass: boolean | null;
}

export interface BenchResults {
  label: string;
  smoke: boolean;
  startedAt: string;
  finishedAt: string;
  environment: Record<string, string | number>;
  settings: Record<string, unknown>;
  points: Point[];
  checks: Check[];
  /** Warnings the gateways printed (Node process warnings, log lines at warn level and above), by gateway. */
  gatewayWarnings: Record<string, string[]>;
}
