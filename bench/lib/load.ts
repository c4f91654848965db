import http from 'node:http';
import autocannon from 'autocannon';
import { round } from './procstat.js';

/** Where a workload sends its requests: a base URL, a path prefix (`/dicom-web` or `/pacs/dicom-web`) and credentials. */
export interface Endpoint {
  base: string;
  prefix: string;
  headers: Record<string, string>;
}

export interface RequestLoadResult {
  /** One-connection points (lib/interleaved-latency.ts): the median over the turns of this target minus direct Orthanc in the same turn, ms. */
  pairedAddedP50Ms?: number;
  connections: number;
  seconds: number;
  requests: number;
  reqPerSec: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  mbPerSec: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** p50 / p90 / p99 of latencies in ms (nearest rank), rounded to µs. */
export function latencySummary(latencies: readonly number[]): { p50Ms: number; p90Ms: number; p99Ms: number } {
  const sorted = Float64Array.from(latencies).sort();
  return { p50Ms: round(percentile(sorted, 50), 3), p90Ms: round(percentile(sorted, 90), 3), p99Ms: round(percentile(sorted, 99), 3) };
}

/**
 * Fixed connections for a fixed time with autocannon; latencies are kept at full (sub-millisecond)
 * resolution from autocannon's per-response events (its histogram has 1 ms buckets).
 */
export async function requestLoad(
  endpoint: Endpoint,
  /** Sent in turn on every connection; a path with its own Accept overrides `accept`. */
  paths: Array<string | { path: string; accept: string }>,
  { connections, seconds, amount, accept }: { connections: number; seconds: number; amount?: number; accept: string },
): Promise<RequestLoadResult> {
  const latencies: number[] = [];
  const statusCodes: Record<string, number> = {};
  let bytes = 0;
  const started = process.hrtime.bigint();
  const instance = autocannon({
    url: endpoint.base,
    connections,
    duration: seconds,
    ...(amount ? { amount: Math.max(amount, connections) } : {}),
    sampleInt: 100, // autocannon ends a run on its next sample tick
    timeout: 30,
    headers: { ...endpoint.headers, accept },
    requests: paths.map((entry) =>
      typeof entry === 'string' ? { method: 'GET', path: endpoint.prefix + entry } : { method: 'GET', path: endpoint.prefix + entry.path, headers: { accept: entry.accept } },
    ),
  });
  instance.on('response', (_client, statusCode, resBytes, responseTime) => {
    statusCodes[statusCode] = (statusCodes[statusCode] ?? 0) + 1;
    if (statusCode >= 200 && statusCode < 300) {
      latencies.push(responseTime);
      bytes += resBytes;
    }
  });
  const result = await instance;
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  const ok = latencies.length;
  return {
    connections,
    seconds: round(elapsed, 2),
    requests: ok,
    reqPerSec: round(ok / elapsed, 0),
    ...latencySummary(latencies),
    mbPerSec: round(bytes / 1e6 / elapsed, 1),
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
  };
}

export interface TransferResult {
  runs: number;
  bytes: number;
  /** Median over the runs. */
  mbPerSec: number;
  secondsPerRun: number[];
  statuses: number[];
}

const agent = new http.Agent({ keepAlive: false });

/** GET one large response (WADO-RS study retrieval), reading it as fast as it comes; bytes and seconds. */
export function download(endpoint: Endpoint, path: string, accept: string): Promise<{ status: number; bytes: number; seconds: number }> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = http.get(endpoint.base + endpoint.prefix + path, { agent, headers: { ...endpoint.headers, accept } }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, seconds: Number(process.hrtime.bigint() - started) / 1e9 }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/**
 * POST a STOW-RS multipart body built from `files`, streamed part by part with backpressure; with a
 * Content-Length, or chunked when `chunked` is set (the gateway then counts the body as it streams).
 */
export function upload(endpoint: Endpoint, path: string, files: Buffer[], extraHeaders: Record<string, string> = {}, { chunked = false } = {}): Promise<{ status: number; bytes: number; seconds: number; body: string }> {
  const boundary = `bench-${Date.now()}`;
  const partHead = Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`);
  const crlf = Buffer.from('\r\n');
  const close = Buffer.from(`--${boundary}--\r\n`);
  const length = files.reduce((sum, file) => sum + partHead.length + file.length + crlf.length, close.length);
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = http.request(endpoint.base + endpoint.prefix + path, {
      method: 'POST',
      agent,
      headers: {
        ...endpoint.headers,
        ...extraHeaders,
        accept: 'application/dicom+json',
        'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}`,
        ...(chunked ? {} : { 'content-length': String(length) }),
      },
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, bytes: length, seconds: Number(process.hrtime.bigint() - started) / 1e9, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.on('error', reject);
    const pieces = files.flatMap((file) => [partHead, file, crlf]);
    pieces.push(close);
    let index = 0;
    const writeMore = () => {
      while (index < pieces.length) {
        if (!req.write(pieces[index++]!)) return void req.once('drain', writeMore);
      }
      req.end();
    };
    writeMore();
  });
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * Bursts separated by idle gaps around Orthanc's 1 s keep-alive timeout: a pool that reuses a
 * socket Orthanc already closed fails requests here (ECONNRESET → 502).
 */
export async function idleGapProbe(endpoint: Endpoint, path: string, accept: string, { bursts, perBurst, gapsMs }: { bursts: number; perBurst: number; gapsMs: number[] }) {
  const keepAlive = new http.Agent({ keepAlive: true, maxSockets: perBurst });
  const statuses: Record<string, number> = {};
  let errors = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const req = http.get(endpoint.base + endpoint.prefix + path, { agent: keepAlive, headers: { ...endpoint.headers, accept } }, (res) => {
        statuses[res.statusCode ?? 0] = (statuses[res.statusCode ?? 0] ?? 0) + 1;
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', () => {
        errors++;
        resolve();
      });
    });
  for (let burst = 0; burst < bursts; burst++) {
    await Promise.all(Array.from({ length: perBurst }, one));
    await new Promise((resolve) => setTimeout(resolve, gapsMs[burst % gapsMs.length]));
  }
  keepAlive.destroy();
  const total = Object.values(statuses).reduce((a, b) => a + b, 0) + errors;
  const failed = total - (statuses['200'] ?? 0);
  return { requests: total, failed, errors, statuses };
}
