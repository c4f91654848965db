import http from 'node:http';
import type { Socket } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import type { Endpoint } from './load.js';
import type { IdleConnectionsResult, ViewersOptions } from './viewers.js';

/** What the thread tells viewers.ts: every connection has sent its first ping, then the result once told to stop. */
export type IdleViewersMessage = { kind: 'ready' } | { kind: 'result'; idle: IdleConnectionsResult };

/**
 * The "many viewers" point's idle connections, run on a worker thread of their own (viewers.ts):
 * on the load generator's main thread, 200 active connections delayed the pings' timers by seconds,
 * past the gateway's 5 s keep-alive timeout, and the server's close then raced the late ping
 * (ECONNRESET): a failure of the harness, not of the gateway. `maxGapMs` shows how late they ran.
 */
export interface IdleViewersInput {
  endpoint: Endpoint;
  options: Pick<ViewersOptions, 'idleConnections' | 'idlePath' | 'idleEveryMs'>;
}

/** Set by viewers.ts's message once the active load is over: each viewer stops at its next ping. */
let stopped = false;


interface IdleCounts {
  requests: number;
  failed: number;
  failures: Record<string, number>;
  sockets: number;
  maxGapMs: number;
}

const countFailure = (counts: IdleCounts, why: string) => {
  counts.failed++;
  counts.failures[why] = (counts.failures[why] ?? 0) + 1;
};

/** One idle viewer: its own agent with one keep-alive socket, pinging until stopped; `opened` once its first ping is answered. */
async function idleViewer({ endpoint, options }: IdleViewersInput, counts: IdleCounts, opened: () => void): Promise<void> {
  const base = new URL(endpoint.base);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const seen = new WeakSet<Socket>();
  let answeredAt: number | undefined;
  const ping = () =>
    new Promise<void>((resolve) => {
      if (answeredAt !== undefined) counts.maxGapMs = Math.max(counts.maxGapMs, Date.now() - answeredAt);
      const req = http.get({ host: base.hostname, port: base.port, path: options.idlePath, agent, headers: endpoint.headers }, (res) => {
        res.resume();
        res.once('end', () => {
          answeredAt = Date.now();
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
        answeredAt = undefined;
        countFailure(counts, error.code ?? error.message);
        resolve();
      });
    });
  // Spread the first requests (and so every later one) over one period.
  await new Promise((resolve) => setTimeout(resolve, Math.random() * options.idleEveryMs));
  try {
    await ping();
    opened();
    while (!stopped) {
      await new Promise((resolve) => setTimeout(resolve, options.idleEveryMs));
      if (!stopped) await ping();
    }
  } finally {
    agent.destroy();
  }
}

async function idleViewers(input: IdleViewersInput): Promise<IdleConnectionsResult> {
  const counts: IdleCounts = { requests: 0, failed: 0, failures: {}, sockets: 0, maxGapMs: 0 };
  let waiting = input.options.idleConnections;
  const opened = () => {
    if (--waiting === 0) parentPort?.postMessage({ kind: 'ready' } satisfies IdleViewersMessage);
  };
  await Promise.all(Array.from({ length: input.options.idleConnections }, () => idleViewer(input, counts, opened)));
  const { requests, failed, failures, sockets, maxGapMs } = counts;
  return { connections: input.options.idleConnections, requests, failed, failures, reopened: Math.max(0, sockets - input.options.idleConnections), maxGapMs };
}

parentPort?.once('message', () => {
  stopped = true;
});
parentPort?.postMessage({ kind: 'result', idle: await idleViewers(workerData as IdleViewersInput) } satisfies IdleViewersMessage);
