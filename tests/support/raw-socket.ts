import { connect } from 'node:net';

/**
 * Exact bytes over a TCP socket, for the request shapes no HTTP client will send: conflicting
 * Content-Length / Transfer-Encoding, obs-fold, absolute-form request lines, bare LF, raw
 * non-ASCII or malformed percent-encoding in the request target, slow header senders.
 */
export interface ParsedResponse {
  status: number;
  /** Lower-cased names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: string;
}

export interface SocketExchange {
  /** Every complete response the server sent on this connection, in order. */
  responses: ParsedResponse[];
  /** The server ended the connection (FIN or reset) before the client gave up waiting. */
  closedByServer: boolean;
  /** Everything the server sent, latin1. */
  raw: string;
}

const CRLF = '\r\n';

function parseResponses(raw: string): ParsedResponse[] {
  const responses: ParsedResponse[] = [];
  let rest = raw;
  while (rest.startsWith('HTTP/')) {
    const headEnd = rest.indexOf(CRLF + CRLF);
    if (headEnd === -1) break;
    const [statusLine = '', ...lines] = rest.slice(0, headEnd).split(CRLF);
    const status = Number(statusLine.split(' ')[1]);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    rest = rest.slice(headEnd + 4);
    let body = '';
    if (status === 100) {
      // interim response: no body
    } else if ((headers['transfer-encoding'] ?? '').toLowerCase().includes('chunked')) {
      for (;;) {
        const sizeEnd = rest.indexOf(CRLF);
        if (sizeEnd === -1) break;
        const size = parseInt(rest.slice(0, sizeEnd), 16);
        rest = rest.slice(sizeEnd + 2);
        if (!(size > 0)) {
          const trailerEnd = rest.indexOf(CRLF);
          rest = trailerEnd === -1 ? '' : rest.slice(trailerEnd + 2);
          break;
        }
        body += rest.slice(0, size);
        rest = rest.slice(size + 2);
      }
    } else if (headers['content-length'] !== undefined) {
      const length = Number(headers['content-length']);
      body = rest.slice(0, length);
      rest = rest.slice(length);
    } else {
      body = rest;
      rest = '';
    }
    responses.push({ status, headers, body });
  }
  return responses;
}

/** `count` responses are fully there (the last one's body complete). */
function isComplete(raw: string, count: number): boolean {
  const responses = parseResponses(raw);
  if (responses.length < count) return false;
  const last = responses[count - 1]!;
  const length = last.headers['content-length'];
  if (length !== undefined) return Buffer.byteLength(last.body, 'latin1') >= Number(length);
  return (last.headers['transfer-encoding'] ?? '').includes('chunked') ? /\r\n0\r\n\r\n$/.test(raw) : false;
}

export interface ExchangeOptions {
  /** How long to wait for the server to close the connection; default 3000 ms. */
  waitMs?: number;
  /** Stop waiting once this many complete responses arrived (keep-alive connections). */
  untilResponses?: number;
  /** Written after `bytes`, one piece every `intervalMs` (slow senders). */
  trickle?: { pieces: Array<string | Buffer>; intervalMs: number };
}

/**
 * Connects to `baseUrl`'s host and port, writes `bytes` exactly, and collects what comes back until
 * the server closes the connection or `waitMs` passes (then the client closes it).
 */
export function socketExchange(baseUrl: string, bytes: string | Buffer, { waitMs = 3000, trickle, untilResponses }: ExchangeOptions = {}): Promise<SocketExchange> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const chunks: Buffer[] = [];
    let settled = false;
    const timers: NodeJS.Timeout[] = [];
    const finish = (closedByServer: boolean) => {
      if (settled) return;
      settled = true;
      for (const timer of timers) clearTimeout(timer);
      socket.destroy();
      const raw = Buffer.concat(chunks).toString('latin1');
      resolve({ responses: parseResponses(raw), closedByServer, raw });
    };
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (untilResponses !== undefined && isComplete(Buffer.concat(chunks).toString('latin1'), untilResponses)) finish(false);
    });
    socket.on('end', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
    socket.once('connect', () => {
      socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
      trickle?.pieces.forEach((piece, index) => {
        timers.push(
          setTimeout(() => {
            if (!settled && socket.writable) socket.write(typeof piece === 'string' ? Buffer.from(piece, 'latin1') : piece);
          }, (index + 1) * trickle.intervalMs),
        );
      });
      timers.push(setTimeout(() => finish(false), waitMs));
    });
  });
}

/** A request head (request line + headers + blank line) from lines; CRLF line endings. */
export function requestHead(requestLine: string, headers: ReadonlyArray<string>): string {
  return [requestLine, ...headers, '', ''].join(CRLF);
}
