import { execFileSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import type { IdleViewersInput, IdleViewersMessage } from './idle-viewers.js';
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
  /** The longest time between an answer and the same connection's next request, ms: above the server's keep-alive timeout, the harness was late. */
  maxGapMs: number;
}

export interface ViewersResult {
  idle: IdleConnectionsResult;
  active: RequestLoadResult;
}

/** The viewers' own thread (idle-viewers.ts): its timers are not delayed by the active load's work in this one. */
const IDLE_VIEWERS_MODULE = new URL('./idle-viewers.ts', import.meta.url).href;
const TS_WORKER = new URL('./ts-worker.mjs', import.meta.url);

/** The idle connections (on their own thread) and the active ones at the same time, for `seconds`. */
export async function viewersLoad(endpoint: Endpoint, options: ViewersOptions): Promise<ViewersResult> {
  const input: IdleViewersInput = { endpoint, options };
  const worker = new Worker(TS_WORKER, { workerData: { module: IDLE_VIEWERS_MODULE, ...input } });
  const answer = (kind: IdleViewersMessage['kind']) =>
    new Promise<IdleViewersMessage>((resolve, reject) => {
      const onMessage = (message: IdleViewersMessage) => {
        if (message.kind !== kind) return;
        worker.off('message', onMessage);
        resolve(message);
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the idle viewers' thread exited (${code}) before its ${kind} message`)));
    });
  const ready = answer('ready');
  const result = answer('result');
  result.catch(() => undefined); // awaited below, after the active load; its rejection is not unhandled meanwhile
  // Every idle connection is open (its first ping answered) before the active load starts, however
  // long the thread took to start; the idle ones stop after it.
  await ready;
  const active = await requestLoad(endpoint, options.activePaths, { connections: options.activeConnections, seconds: options.seconds, accept: '*/*' });
  worker.postMessage('stop');
  const idle = await result;
  return { idle: (idle as Extract<IdleViewersMessage, { kind: 'result' }>).idle, active };
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
