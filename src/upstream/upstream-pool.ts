import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import type { Socket } from 'node:net';
import { buildConnector, Pool, util, type Dispatcher } from 'undici';
import type { Config } from '../config/config.js';
import { IDLE_SAFETY_MARGIN_MS, MAX_IDLE_MS } from './upstream-agent.js';

/**
 * The transport of bodiless requests to Orthanc (QIDO-RS, WADO-RS, WADO-URI, previews: nearly all
 * of a viewer's traffic): undici's `Pool` instead of node:http's client, which costs ~0.03 ms less CPU
 * per request (no ClientRequest, OutgoingMessage and agent bookkeeping per request; bench/README.md,
 * section 27). Requests with a body keep node:http (proxy.ts): their body is piped and counted there.
 * So does all traffic to an https:// Orthanc: when Orthanc (or its TLS proxy) refuses the gateway's
 * client certificate, TLS 1.3 tells so with an alert after the request went out, which undici reports
 * as "other side closed", losing the alert that upstream-errors.ts turns into the operator's hint.
 */

/** Orthanc's answer as relayResponse reads it: status, node:http-style headers, the body as a stream. */
export interface UpstreamAnswer extends Readable {
  statusCode: number;
  headers: IncomingHttpHeaders;
}

/** Headers node:http's IncomingMessage keeps the first of when repeated; set-cookie becomes a list, others are joined with ", ". */
const FIRST_WINS = new Set(['age', 'authorization', 'content-length', 'content-type', 'etag', 'expires', 'from', 'host', 'if-modified-since', 'if-unmodified-since', 'last-modified', 'location', 'max-forwards', 'proxy-authorization', 'referer', 'retry-after', 'server', 'user-agent']);

/** undici's raw header list as node:http would have parsed it, so everything downstream reads one shape. */
export function incomingHeaders(raw: readonly Buffer[]): IncomingHttpHeaders {
  const headers: Record<string, string | string[]> = {};
  for (let index = 0; index + 1 < raw.length; index += 2) {
    const name = util.headerNameToString(raw[index]!); // a known name's lower-case string from undici's table: no decoding
    const value = raw[index + 1]!.toString('latin1');
    const seen = headers[name];
    if (seen === undefined) headers[name] = name === 'set-cookie' ? [value] : value;
    else if (Array.isArray(seen)) seen.push(value);
    else if (!FIRST_WINS.has(name)) headers[name] = `${seen}, ${value}`;
  }
  return headers;
}

/**
 * Keep-alive connections to Orthanc, as upstream-agent.ts keeps them: idle at most MAX_IDLE_MS and
 * never closer than IDLE_SAFETY_MARGIN_MS to the server's `Keep-Alive: timeout` hint (undici's own
 * margin, 2 s, is longer than Orthanc's 1 s timeout: it would close every connection after one
 * request); plain HTTP only (see above). ORTHANC_TIMEOUT_MS bounds the connect, the wait for the answer's head and every pause in
 * its body, as the socket timeout does on the node:http side.
 */
export function createUpstreamPool(orthanc: Config['orthanc']): Pool | undefined {
  const target = new URL(orthanc.url);
  if (target.protocol !== 'http:') return undefined;
  return new Pool(target.origin, {
    connections: 256,
    pipelining: 1,
    keepAliveTimeout: MAX_IDLE_MS,
    keepAliveMaxTimeout: MAX_IDLE_MS,
    keepAliveTimeoutThreshold: IDLE_SAFETY_MARGIN_MS,
    headersTimeout: orthanc.timeoutMs,
    bodyTimeout: orthanc.timeoutMs,
    connect: markingReuse(buildConnector({ timeout: orthanc.timeoutMs })),
  });
}

const ON_REUSED_CONNECTION = Symbol('failed on a reused connection');
type MarkedError = Error & { [ON_REUSED_CONNECTION]?: boolean; socket?: { bytesRead?: number } };

/** Marks a socket's errors with whether the connection had carried an answer before (bytes read). */
function markError(this: Socket, error: MarkedError): void {
  error[ON_REUSED_CONNECTION] = this.bytesRead > 0;
}

/** undici's connector, with markError listening on each new connection before undici does. */
function markingReuse(connect: buildConnector.connector): buildConnector.connector {
  return (options, callback) =>
    connect(options, (...args) => {
      const [, socket] = args;
      socket?.on('error', markError);
      callback(...args);
    });
}

/**
 * Whether a pooled request failed on a connection that had already carried an answer: Orthanc closed
 * an idle keep-alive connection just as the request went out (upstream-retry.ts). undici does not
 * say which connection a request used; its "other side closed" error names the socket's byte counts,
 * and a reset carries markError's mark.
 */
export function failedOnReusedConnection(error: NodeJS.ErrnoException): boolean {
  const marked = error as MarkedError;
  return marked[ON_REUSED_CONNECTION] ?? (marked.socket?.bytesRead ?? 0) > 0;
}

/** undici's codes for ORTHANC_TIMEOUT_MS running out before the answer began. */
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT']);
export const isPooledTimeout = (error: NodeJS.ErrnoException) => TIMEOUT_CODES.has(error.code ?? '');

export interface PooledRequest {
  path: string;
  method: string;
  headers: OutgoingHttpHeaders;
}

export interface PooledCallbacks {
  /** Orthanc's answer began: its body follows on the stream (which errors if the connection fails mid-body). */
  onAnswer(answer: UpstreamAnswer): void;
  /** The request failed before any answer (connect, timeout, reset, or `cancel`). */
  onError(error: NodeJS.ErrnoException): void;
}

/** Sends a bodiless request on the pool; the returned function cancels it (the client went away). */
export function sendPooled(pool: Dispatcher, request: PooledRequest, callbacks: PooledCallbacks): () => void {
  let abort: ((reason?: Error) => void) | undefined;
  let cancelled = false;
  let answer: UpstreamAnswer | undefined;
  // undici writes the Host of the pool's origin itself.
  const { host: _host, ...headers } = request.headers;
  pool.dispatch(
    { path: request.path, method: request.method as Dispatcher.HttpMethod, headers: headers as Record<string, string | string[]>, body: null },
    {
      onConnect(abortRequest) {
        abort = abortRequest;
        if (cancelled) abortRequest();
      },
      onHeaders(statusCode, rawHeaders, resume) {
        const body = new Readable({ read: () => resume() }) as UpstreamAnswer;
        body.statusCode = statusCode;
        body.headers = incomingHeaders(rawHeaders as unknown as Buffer[]);
        answer = body;
        callbacks.onAnswer(body);
        return true;
      },
      onData: (chunk) => answer!.push(chunk),
      onComplete: () => void answer!.push(null),
      onError(error) {
        if (answer) answer.destroy(error);
        else callbacks.onError(error as NodeJS.ErrnoException);
      },
    },
  );
  return () => {
    cancelled = true;
    abort?.();
  };
}
