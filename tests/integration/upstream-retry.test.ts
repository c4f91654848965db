/**
 * A pooled keep-alive connection that Orthanc closes just as the gateway sends the next request on
 * it fails before any response byte (ECONNRESET / "socket hang up"). The gateway sends such a request
 * once more on a new connection when that is harmless (GET/HEAD/OPTIONS without a body), and never
 * for anything else. The upstream here is a fault injector at the TCP level (node:net): it tests the
 * gateway's transport, not Orthanc's behaviour, and closes connections exactly when a request arrives.
 */
import net from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { TestGateway } from '../support/gateway.js';
import { startGatewayBeforeStandIn, type StandInStack } from '../support/stand-in-upstream.js';

interface SeenRequest {
  method: string;
  path: string;
  connection: number;
  /** Requests this connection had already carried. */
  earlierOnConnection: number;
}

/** Which requests the upstream answers by closing the connection (`end`: FIN, `reset`: RST) instead. */
type Fault = { close: 'none' } | { close: 'reused' | 'every'; how: 'end' | 'reset' };

let fault: Fault = { close: 'none' };
const seen: SeenRequest[] = [];
let connections = 0;
let stack: StandInStack;
let gateway: TestGateway;
let viewerToken: string;
let uploaderToken: string;

/** Complete requests (head + Content-Length body) at the start of `buffer`, and what is left. */
function takeRequests(buffer: string): { requests: Array<{ method: string; path: string }>; rest: string } {
  const requests: Array<{ method: string; path: string }> = [];
  let rest = buffer;
  for (;;) {
    const headEnd = rest.indexOf('\r\n\r\n');
    if (headEnd < 0) break;
    const head = rest.slice(0, headEnd);
    const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
    if (rest.length < headEnd + 4 + length) break;
    const [method = '', path = ''] = head.split(' ');
    requests.push({ method, path });
    rest = rest.slice(headEnd + 4 + length);
  }
  return { requests, rest };
}

function serveConnection(socket: net.Socket): void {
  const connection = ++connections;
  let carried = 0;
  let buffer = '';
  socket.on('error', () => undefined);
  socket.on('data', (chunk: Buffer) => {
    const taken = takeRequests(buffer + chunk.toString('latin1'));
    buffer = taken.rest;
    for (const request of taken.requests) {
      seen.push({ ...request, connection, earlierOnConnection: carried });
      const closes = fault.close === 'every' || (fault.close === 'reused' && carried > 0);
      carried += 1;
      if (closes && 'how' in fault) {
        if (fault.how === 'reset') socket.resetAndDestroy();
        else socket.end();
        return;
      }
      const body = request.method === 'HEAD' ? '' : '[]';
      socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/dicom+json\r\nContent-Length: 2\r\nKeep-Alive: timeout=5\r\n\r\n${body}`);
    }
  });
}

beforeAll(async () => {
  stack = await startGatewayBeforeStandIn(net.createServer(serveConnection));
  gateway = stack.gateway;
  viewerToken = await stack.issuer.token('viewer', ['pacs-viewer']);
  uploaderToken = await stack.issuer.token('uploader', ['pacs-uploader', 'pacs-viewer']);
}, 30_000);

afterAll(async () => {
  await stack?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const pacs = (path: string, init: RequestInit = {}, token = viewerToken) =>
  fetch(`${gateway.url}/pacs/dicom-web${path}`, { ...init, headers: { authorization: `Bearer ${token}`, ...init.headers } });

const stow = (boundary: string) => ({
  method: 'POST',
  headers: { 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}` },
  body: `--${boundary}\r\nContent-Type: application/dicom\r\n\r\nnot really DICOM\r\n--${boundary}--\r\n`,
});

/**
 * Empty pools, then one answered request: the gateway's next request of the same kind goes out on
 * that pooled connection (bodiless requests and requests with a body have a pool each: upstream-pool.ts).
 */
async function primePool(kind: 'bodiless' | 'with a body' = 'bodiless'): Promise<void> {
  fault = { close: 'none' };
  await sleep(900); // the pools drop connections idle for 800 ms
  const response = kind === 'bodiless' ? await pacs('/studies?prime=1') : await pacs('/studies', stow('prime-boundary'), uploaderToken);
  expect(response.status).toBe(200);
  await response.text();
  seen.length = 0;
}

beforeEach(() => primePool(), 10_000);

describe('a request on a pooled connection that the upstream closes on its arrival', () => {
  it.each(['end', 'reset'] as const)('is retried once on a new connection for a GET (connection closed with %s)', async (how) => {
    fault = { close: 'reused', how };
    const response = await pacs('/studies?PatientID=RETRY');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual([]);
    expect(seen.map((request) => [request.method, request.path, request.earlierOnConnection])).toEqual([
      ['GET', '/dicom-web/studies?PatientID=RETRY', 1],
      ['GET', '/dicom-web/studies?PatientID=RETRY', 0],
    ]);
    expect(seen[0]!.connection).not.toBe(seen[1]!.connection);
  });

  it('is retried for a HEAD too', async () => {
    fault = { close: 'reused', how: 'end' };
    const response = await pacs('/studies', { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(seen.map((request) => [request.method, request.earlierOnConnection])).toEqual([
      ['HEAD', 1],
      ['HEAD', 0],
    ]);
  });

  it('is retried only once: a new connection failing the same way is a 502', async () => {
    fault = { close: 'every', how: 'end' };
    const response = await pacs('/studies');
    expect(response.status).toBe(502);
    expect(await response.json()).toEqual({ error: 'bad_gateway', message: expect.any(String), requestId: expect.any(String) });
    expect(seen.map((request) => request.earlierOnConnection)).toEqual([1, 0]);
  });

  it('is never retried for a POST (STOW-RS): 502, sent once', async () => {
    await primePool('with a body');
    fault = { close: 'reused', how: 'end' };
    const response = await pacs('/studies', stow('retry-test-boundary'), uploaderToken);
    expect(response.status).toBe(502);
    expect((await response.json()) as { error: string }).toMatchObject({ error: 'bad_gateway' });
    expect(seen.map((request) => [request.method, request.earlierOnConnection])).toEqual([['POST', 1]]);
  });
});

describe('a request on a new connection that the upstream closes on its arrival', () => {
  it('is not retried: 502', async () => {
    await sleep(900); // nothing pooled: the request opens a new connection
    fault = { close: 'every', how: 'reset' };
    const response = await pacs('/studies');
    expect(response.status).toBe(502);
    expect(seen.map((request) => request.earlierOnConnection)).toEqual([0]);
  });
});
