import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A recorder between the gateway and a real Orthanc (set the gateway's ORTHANC_URL to its url): it
 * notes exactly what arrives — method, request target byte for byte, the headers that can change
 * how Orthanc reads a request — and forwards it unchanged, bodies streamed both ways. The
 * differential harness (tests/security/differential.test.ts) compares these records with the
 * gateway's audit lines.
 */
export interface RecordedRequest {
  method: string;
  /** The request target as received (path and query, nothing decoded). */
  target: string;
  /** The raw path: the target before the first `?`. */
  path: string;
  /** The raw query string: the target after the first `?` ('' when there is none). */
  query: string;
  /** Selected headers (lower-case names; a repeated header keeps every value). */
  headers: Record<string, string[]>;
  /** Date.now() when the request head arrived. */
  at: number;
  /** Set when `refuse` kept the request from Orthanc: why. */
  refused?: string;
}

/** Headers that change how Orthanc reads a request, or show who sent it (the gateway's proxy sends Forwarded). */
const RECORDED_HEADERS = new Set(['forwarded', 'content-type', 'content-length', 'transfer-encoding', 'accept', 'x-forwarded-user', 'x-forwarded-roles']);
const isRecordedHeader = (name: string) => RECORDED_HEADERS.has(name) || /method|override/.test(name);

export interface RecordingProxyOptions {
  /**
   * Decides, from the record, to answer 503 itself instead of forwarding (the record says why):
   * a harness that sends attack variants keeps its fixtures from being deleted that way.
   */
  refuse?: (record: RecordedRequest) => string | undefined;
}

export interface RecordingProxy {
  url: string;
  /** Every request received since the last clear(), oldest first. */
  records(): RecordedRequest[];
  clear(): void;
  stop(): Promise<void>;
}

function recordOf(req: http.IncomingMessage): RecordedRequest {
  const target = req.url ?? '';
  const queryStart = target.indexOf('?');
  const headers: Record<string, string[]> = {};
  for (let index = 0; index < req.rawHeaders.length; index += 2) {
    const name = req.rawHeaders[index]!.toLowerCase();
    if (isRecordedHeader(name)) (headers[name] ??= []).push(req.rawHeaders[index + 1]!);
  }
  return {
    method: req.method ?? '',
    target,
    path: queryStart === -1 ? target : target.slice(0, queryStart),
    query: queryStart === -1 ? '' : target.slice(queryStart + 1),
    headers,
    at: Date.now(),
  };
}

/** Connection-level headers: each hop has its own (the recorder opens a new connection per request). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade']);
function endToEnd(rawHeaders: string[], drop: Set<string> = HOP_BY_HOP): string[] {
  const kept: string[] = [];
  for (let index = 0; index < rawHeaders.length; index += 2) {
    if (!drop.has(rawHeaders[index]!.toLowerCase())) kept.push(rawHeaders[index]!, rawHeaders[index + 1]!);
  }
  return kept;
}
const RESPONSE_HOP_BY_HOP = new Set([...HOP_BY_HOP, 'transfer-encoding']);

/** Forwards one request as it came: same method, target and header lines (hop-by-hop ones aside); the answer likewise. */
function forward(upstream: URL, req: http.IncomingMessage, res: http.ServerResponse): void {
  const outgoing = http.request({
    host: upstream.hostname,
    port: upstream.port,
    method: req.method,
    path: req.url,
    headers: endToEnd(req.rawHeaders),
    // A new connection per request: Orthanc closes idle ones after 1 s, a pooled one could be stale.
    agent: false,
  });
  outgoing.on('response', (answer) => {
    res.writeHead(answer.statusCode ?? 502, endToEnd(answer.rawHeaders, RESPONSE_HOP_BY_HOP));
    answer.pipe(res);
  });
  outgoing.on('error', () => {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
    res.end('{"recordingProxy":"Orthanc did not answer"}');
  });
  req.pipe(outgoing);
}

export async function startRecordingProxy(orthancUrl: string, { refuse }: RecordingProxyOptions = {}): Promise<RecordingProxy> {
  const upstream = new URL(orthancUrl);
  let records: RecordedRequest[] = [];
  const server = http.createServer((req, res) => {
    const record = recordOf(req);
    records.push(record);
    const refusal = refuse?.(record);
    if (refusal === undefined) return forward(upstream, req, res);
    record.refused = refusal;
    req.resume();
    res.writeHead(503, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ recordingProxy: `not forwarded: ${refusal}` }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  let stopped: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    records: () => [...records],
    clear: () => {
      records = [];
    },
    stop: () =>
      (stopped ??= new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      })),
  };
}
