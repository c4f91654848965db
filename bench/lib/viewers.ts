import { execFileSync } from 'node:child_process';
import http from 'node:http';
import type { Socket } from 'node:net';
import { requestLoad, type Endpoint, type RequestLoadResult } from './load.js';
import { round } from './procstat.js';

/**
 * Issue 16's "many viewers" point: many open keep-alive connections that sit mostly idle (viewer
 * tabs left open) while a smaller number of connections load studies the way OHIF does (QIDO
 * studies, QIDO series, series metadata, then the frames).
 *
 * An idle connection stays open only while it sends something before the server's keep-alive
 * timeout (the gateway's is 5 s): each one sends a cheap request (`idlePath`, e.g. /healthz)
 * every `idleEveryMs`, at its own phase. A connection the server closed anyway is counted
 * (`reopened`): the point is about holding connections open, not about reconnecting.
 */
export interface ViewersOptions {
  idleConnections: number;
  activeConnections: number;
  seconds: number;
  /** Path (with the endpoint's base, not its prefix) the idle connections send to stay open. */
  idlePath: string;
  idleEveryMs: number;
  /** The OHIF-like sequence every active connection sends in turn. */
  activePaths: Array<{ path: string; accept: string }>;
}

export interface IdleConnectionsResult {
  connections: number;
  requests: number;
  failed: number;
  /** Why they failed: a status code or an error code, with counts. */
  failures: Record<string, number>;
  /** Connections opened beyond the first one per idle viewer: closed by the server (or an error) meanwhile. */
  reopened: number;
}

export interface ViewersResult {
  idle: IdleConnectionsResult;
  active: RequestLoadResult;
}

interface IdleCounts {
  requests: number;
  failed: number;
  failures: Record<string, number>;
  sockets: number;
}

const countFailure = (counts: IdleCounts, why: string) => {
  counts.failed++;
  counts.failures[why] = (counts.failures[why] ?? 0) + 1;
};

/** One idle viewer: its own agent with one keep-alive socket, pinging until `until`. */
async function idleViewer(base: URL, endpoint: Endpoint, options: ViewersOptions, until: number, counts: IdleCounts): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const seen = new WeakSet<Socket>();
  const ping = () =>
    new Promise<void>((resolve) => {
      const req = http.get({ host: base.hostname, port: base.port, path: options.idlePath, agent, headers: endpoint.headers }, (res) => {
        res.resume();
        res.once('end', () => {
          counts.requests++;
          if (res.statusCode !== 200) countFailure(counts, String(res.statusCode));
          resolve();
        });
      });
      req.on('socket', (socket: Socket) => {
        if (seen.has(socket)) return;
        seen.add(socket);
        counts.sockets++;
      });
      req.setTimeout(30_000, () => req.destroy(new Error('idle ping timed out')));
      req.once('error', (error: NodeJS.ErrnoException) => {
        countFailure(counts, error.code ?? error.message);
        resolve();
      });
    });
  // Spread the first requests (and so every later one) over one period.
  await new Promise((resolve) => setTimeout(resolve, Math.random() * options.idleEveryMs));
  try {
    while (Date.now() < until) {
      await ping();
      await new Promise((resolve) => setTimeout(resolve, Math.min(options.idleEveryMs, Math.max(0, until - Date.now()))));
    }
  } finally {
    agent.destroy();
  }
}

/** The idle connections and the active ones at the same time, for `seconds`. */
export async function viewersLoad(endpoint: Endpoint, options: ViewersOptions): Promise<ViewersResult> {
  const base = new URL(endpoint.base);
  const counts: IdleCounts = { requests: 0, failed: 0, failures: {}, sockets: 0 };
  const until = Date.now() + options.seconds * 1000 + options.idleEveryMs; // idle viewers outlast the active load
  const idle = Promise.all(Array.from({ length: options.idleConnections }, () => idleViewer(base, endpoint, options, until, counts)));
  // Every idle connection is open (its first request sent) before the active load starts.
  await new Promise((resolve) => setTimeout(resolve, options.idleEveryMs));
  const active = await requestLoad(endpoint, options.activePaths, { connections: options.activeConnections, seconds: options.seconds, accept: '*/*' });
  await idle;
  return {
    idle: { connections: options.idleConnections, requests: counts.requests, failed: counts.failed, failures: counts.failures, reopened: Math.max(0, counts.sockets - options.idleConnections) },
    active,
  };
}

/** File descriptors this point needs in this process (client sockets) and in the proxy (its sockets, upstream ones). */
export function checkOpenFileLimit(options: Pick<ViewersOptions, 'idleConnections' | 'activeConnections'>): void {
  const needed = 2 * (options.idleConnections + options.activeConnections) + 256;
  const limit = Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim());
  if (Number.isFinite(limit) && limit < needed) {
    throw new Error(`the viewers point needs ${needed} open files per process, ulimit -n is ${limit}: raise it (ulimit -n ${needed}) and run again`);
  }
}

/** Event-loop delay over the point, read from the gateway's /metrics (prom-client resets it per scrape). */
export async function eventLoopDelay(gatewayUrl: string): Promise<{ p50Ms: number; p90Ms: number; p99Ms: number; maxMs: number }> {
  const text = await (await fetch(`${gatewayUrl}/metrics`)).text();
  const value = (name: string) => {
    const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
    return match ? round(Number(match[1]) * 1000, 2) : NaN;
  };
  return { p50Ms: value('nodejs_eventloop_lag_p50_seconds'), p90Ms: value('nodejs_eventloop_lag_p90_seconds'), p99Ms: value('nodejs_eventloop_lag_p99_seconds'), maxMs: value('nodejs_eventloop_lag_max_seconds') };
}
