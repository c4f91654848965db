import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { makeSeries } from '../support/dicom.js';
import { stowBody } from '../support/dicomweb.js';
import { startBearerStack, type BearerStack } from '../support/bearer-stack.js';
import type { TestGateway } from '../support/gateway.js';
import { rawRequest } from '../support/raw-http.js';
import { requestHead, socketExchange, type SocketExchange } from '../support/raw-socket.js';
import { expectGatewayAlive, expectOrthancSawNothing, NO_RATE_LIMITS } from '../support/security.js';

/**
 * Attack suite, category "resource exhaustion": oversized headers and URLs, slow header senders
 * (slowloris), request bodies above the limits, and the rate limits on sign-in and failed
 * authentication (429 + Retry-After; spoofed X-Forwarded-For does not reset them without
 * TRUST_PROXY). Every refused request is checked against Orthanc's request log, then /healthz.
 */
let stack: BearerStack;
const tokens = { admin: '', uploader: '' };
/** Started first, checked last: Node's headersTimeout (20 s) is enforced on a 30 s check interval. */
let slowloris: Promise<{ exchange: SocketExchange; seconds: number }>;

const MAX_BODY_BYTES = 1024;
const STOW_MAX_BYTES = 60_000;

beforeAll(async () => {
  stack = await startBearerStack({
    MAX_BODY_BYTES: String(MAX_BODY_BYTES),
    STOW_MAX_BYTES: String(STOW_MAX_BYTES),
    ...NO_RATE_LIMITS,
  });
  tokens.admin = await stack.issuer.token('admin', ['pacs-admin']);
  tokens.uploader = await stack.issuer.token('uploader', ['pacs-uploader', 'pacs-viewer']);
  const started = Date.now();
  // One header line per second, never the blank line that ends the head; a valid token, so a
  // completed request would be forwarded.
  slowloris = socketExchange(stack.gateway.url, `GET /pacs-admin/system HTTP/1.1\r\nHost: gateway.test\r\nAuthorization: Bearer ${tokens.admin}\r\n`, {
    waitMs: 58_000,
    trickle: { pieces: Array.from({ length: 58 }, (_, i) => `X-Slow-${i}: ${i}\r\n`), intervalMs: 1000 },
  }).then((exchange) => ({ exchange, seconds: (Date.now() - started) / 1000 }));
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

beforeEach(async () => {
  await stack.orthanc.clearSeenRequests();
});

function head(requestLine: string, headers: string[]): string {
  return requestHead(requestLine, ['Host: gateway.test', ...headers, 'Connection: close']);
}

describe('oversized request heads', () => {
  /** [name, the request bytes, status]: Node's 16 KiB header limit answers 431 and closes. */
  const cases: Array<[string, () => string, number]> = [
    ['one 17 KB header', () => head('GET /pacs-admin/system HTTP/1.1', [`Authorization: Bearer ${tokens.admin}`, `X-Big: ${'a'.repeat(17_000)}`]), 431],
    ['2,000 small headers (20 KB)', () => head('GET /pacs-admin/system HTTP/1.1', [`Authorization: Bearer ${tokens.admin}`, ...Array.from({ length: 2000 }, (_, i) => `X-${i}: aaaa`)]), 431],
    ['a 20 KB cookie', () => head('GET /pacs-admin/system HTTP/1.1', [`Authorization: Bearer ${tokens.admin}`, `Cookie: gw-session=${'a'.repeat(20_000)}`]), 431],
    ['a 20 KB Authorization header', () => head('GET /pacs-admin/system HTTP/1.1', [`Authorization: Bearer ${'a'.repeat(20_000)}`]), 431],
    ['a 20 KB request line', () => head(`GET /pacs/dicom-web/studies?PatientID=${'a'.repeat(20_000)} HTTP/1.1`, [`Authorization: Bearer ${tokens.admin}`]), 431],
  ];

  it.each(cases.map(([name, bytes, status]) => [name, status, bytes] as const))('%s → %i, connection closed', async (_name, status, bytes) => {
    const exchange = await socketExchange(stack.gateway.url, bytes());
    expect(exchange.responses.map((response) => response.status)).toEqual([status]);
    expect(exchange.closedByServer).toBe(true);
    await expectOrthancSawNothing(stack.orthanc);
    await expectGatewayAlive(stack.gateway.url);
  });

  /** Under the header limit but over the gateway's own 8 KiB request-target limit. */
  it.each([
    ['a 9 KB path', () => `/pacs-admin/${'a'.repeat(9000)}`],
    ['a 9 KB QIDO query', () => `/pacs/dicom-web/studies?PatientID=${'a'.repeat(9000)}`],
    ['a 9 KB path outside /pacs', () => `/${'a'.repeat(9000)}`],
  ])('%s → 400 (request target too long)', async (_name, target) => {
    const response = await rawRequest(stack.gateway.url, target(), { headers: { authorization: `Bearer ${tokens.admin}` } });
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body)).toMatchObject({ error: 'bad_request', message: expect.stringContaining('too long') });
    await expectOrthancSawNothing(stack.orthanc);
    await expectGatewayAlive(stack.gateway.url);
  });
});

describe('request bodies', () => {
  const stowSeries = () => stowBody(makeSeries({ modality: 'CT', patientName: 'Dos^Upload', patientId: 'P-DOS', instances: 3, rows: 128, columns: 128 }).files);

  type Body = { headers: Record<string, string>; body?: string | Buffer };
  const admin = (headers: Record<string, string> = {}) => ({ authorization: `Bearer ${tokens.admin}`, ...headers });
  const upload = (): Body => {
    const { body, contentType } = stowSeries();
    return { headers: { authorization: `Bearer ${tokens.uploader}`, 'content-type': contentType }, body };
  };

  /** [name, method, path, headers and body, status] — refused before anything is forwarded. */
  const cases: Array<[string, string, string, () => Body, number]> = [
    ['admin REST body above MAX_BODY_BYTES', 'POST', '/pacs-admin/tools/find', () => ({ headers: admin({ 'content-type': 'application/json' }), body: JSON.stringify({ Level: 'Study', Query: {}, Pad: 'x'.repeat(2000) }) }), 413],
    ['a GET with a body above MAX_BODY_BYTES', 'GET', '/pacs-admin/system', () => ({ headers: admin(), body: 'x'.repeat(2000) }), 413],
    ['a chunked body outside uploads', 'POST', '/pacs-admin/tools/find', () => ({ headers: admin({ 'content-type': 'application/json', 'transfer-encoding': 'chunked' }), body: '{"Level":"Study","Query":{}}' }), 411],
    ['an upload above STOW_MAX_BYTES', 'POST', '/pacs/dicom-web/studies', upload, 413],
    ['an anonymous upload declaring 10 GB (refused before authentication)', 'POST', '/pacs/dicom-web/studies', () => ({ headers: { 'content-type': 'application/dicom', 'content-length': String(10 * 1024 ** 3) } }), 413],
    ['an admin upload to /instances declared above STOW_MAX_BYTES', 'POST', '/pacs-admin/instances', () => ({ headers: admin({ 'content-type': 'application/dicom', 'content-length': String(STOW_MAX_BYTES + 1) }) }), 413],
  ];

  /** The exact request: Content-Length from the body unless the case frames it itself (chunked, declared). */
  function request(method: string, path: string, headers: Record<string, string>, body: string | Buffer | undefined): Buffer {
    const chunked = headers['transfer-encoding'] === 'chunked';
    const framing = body === undefined || chunked || 'content-length' in headers ? {} : { 'content-length': String(Buffer.byteLength(body)) };
    const lines = Object.entries({ ...headers, ...framing }).map(([name, value]) => `${name}: ${value}`);
    const payload = body === undefined ? '' : chunked ? `${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n0\r\n\r\n` : body;
    return Buffer.concat([Buffer.from(head(`${method} ${path} HTTP/1.1`, lines)), Buffer.from(payload)]);
  }

  it.each(cases.map(([name, method, path, make, status]) => [name, status, method, path, make] as const))('%s → %i, never forwarded', async (_name, status, method, path, make) => {
    const { headers, body } = make();
    const exchange = await socketExchange(stack.gateway.url, request(method, path, headers, body));
    expect(exchange.responses.map((response) => response.status)).toEqual([status]);
    await expectOrthancSawNothing(stack.orthanc);
    await expectGatewayAlive(stack.gateway.url);
  });

  it('a chunked upload growing past STOW_MAX_BYTES is cut (413 or reset) and nothing is stored', async () => {
    const { body, contentType } = stowSeries();
    expect(body.length).toBeGreaterThan(STOW_MAX_BYTES);
    const response = await rawRequest(stack.gateway.url, '/pacs/dicom-web/studies', {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.uploader}`, 'content-type': contentType, 'transfer-encoding': 'chunked' },
      body,
    }).catch(() => ({ status: -1 }));
    expect([413, -1]).toContain(response.status);
    const stored = await rawRequest(stack.gateway.url, '/pacs/dicom-web/studies?PatientID=P-DOS', { headers: { authorization: `Bearer ${tokens.uploader}` } });
    expect(JSON.parse(stored.body)).toEqual([]);
    await expectGatewayAlive(stack.gateway.url);
  });
});

describe('rate limits', () => {
  let limited: TestGateway;

  beforeAll(async () => {
    limited = await stack.startGateway({
      RATE_LIMIT_LOGIN_PER_MINUTE: '3',
      RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '4',
    });
  });

  afterAll(async () => {
    await limited?.close();
  });

  const tooMany = async (response: Response) => {
    expect(response.status).toBe(429);
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await response.json()).toMatchObject({ error: 'too_many_requests', requestId: expect.any(String) });
  };

  it('sign-in starts and callbacks: 3 per minute and address, then 429 + Retry-After, whatever X-Forwarded-For says', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const path = i === 2 ? '/auth/callback?code=x&state=y' : '/auth/login?returnTo=/';
      statuses.push((await fetch(`${limited.url}${path}`, { redirect: 'manual', headers: { 'x-forwarded-for': `203.0.113.${i}` } })).status);
    }
    expect(statuses).toEqual([302, 302, 400]);
    await tooMany(await fetch(`${limited.url}/auth/login?returnTo=/`, { redirect: 'manual', headers: { 'x-forwarded-for': '198.51.100.7' } }));
    await tooMany(await fetch(`${limited.url}/auth/callback?code=x&state=y`, { redirect: 'manual', headers: { forwarded: 'for=198.51.100.8' } }));
    await expectGatewayAlive(limited.url);
  });

  // Last: the address stays refused for the rest of the minute.
  it('failed authentications: 4 per minute and address, then everything from it is 429 (a valid token too), never forwarded', async () => {
    const bad = (i: number) => ({ authorization: 'Bearer not.a.token', 'x-forwarded-for': `203.0.113.${i}`, 'x-real-ip': `203.0.113.${i}` });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      statuses.push((await fetch(`${limited.url}/pacs/dicom-web/studies`, { headers: bad(i) })).status);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(statuses).toEqual([401, 401, 401, 401]);
    await new Promise((resolve) => setTimeout(resolve, 100)); // the fourth failure is counted when its response ends
    await stack.orthanc.clearSeenRequests();
    await tooMany(await fetch(`${limited.url}/pacs/dicom-web/studies`, { headers: bad(9) }));
    await tooMany(await fetch(`${limited.url}/pacs-admin/system`, { headers: { authorization: `Bearer ${tokens.admin}`, 'x-forwarded-for': '198.51.100.9' } }));
    await expectOrthancSawNothing(stack.orthanc);
    await expectGatewayAlive(limited.url);
  });
});

describe('slow clients', () => {
  it('a client sending its headers one line per second (slowloris) is cut off: 408, connection closed, nothing forwarded', async () => {
    const { exchange, seconds } = await slowloris;
    expect(exchange.responses.map((response) => response.status)).toEqual([408]);
    expect(exchange.closedByServer).toBe(true);
    expect(seconds).toBeGreaterThanOrEqual(20); // headersTimeout
    expect(seconds).toBeLessThan(55); // + at most one 30 s check interval
    await expectOrthancSawNothing(stack.orthanc);
    await expectGatewayAlive(stack.gateway.url);
  }, 60_000);
});
