/**
 * The proxy's connection pool and response relay against an Orthanc-like upstream that announces
 * `Keep-Alive: timeout=1` and closes idle connections after 1 s: connections are reused (Node's
 * default agent would open one per request), no request fails on a connection the upstream is
 * closing, an upstream that cuts a body mid-way cuts the client's response without harming the
 * next request, and a client that leaves before the answer cancels its request to the upstream.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { TestGateway } from '../support/gateway.js';
import { startGatewayBeforeStandIn, type StandInStack } from '../support/stand-in-upstream.js';

let upstreamConnections = 0;
/** Requests to the slow upstream path whose connection closed before the upstream answered. */
let slowRequestsCancelled = 0;
let stack: StandInStack;
let gateway: TestGateway;
let token: string;

beforeAll(async () => {
  const upstream = http.createServer((req, res) => {
    if (req.url?.endsWith('/metadata')) {
      // Answers after 1.5 s, unless the gateway gave up on the request first.
      const timer = setTimeout(() => res.writeHead(200, { 'content-type': 'application/dicom+json', 'content-length': '2' }).end('[]'), 1500);
      res.on('close', () => {
        if (!res.writableFinished) {
          clearTimeout(timer);
          slowRequestsCancelled++;
        }
      });
      return;
    }
    if (req.url?.endsWith('/frames/1')) {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '100000' });
      res.write(Buffer.alloc(10_000));
      setTimeout(() => res.socket?.destroy(), 20);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/dicom+json' });
    res.end('[]');
  });
  upstream.keepAliveTimeout = 1000; // answers `Keep-Alive: timeout=1`, like Orthanc
  upstream.on('connection', () => upstreamConnections++);
  stack = await startGatewayBeforeStandIn(upstream);
  gateway = stack.gateway;
  token = await stack.issuer.token('viewer', ['pacs-viewer']);
}, 30_000);

afterAll(async () => {
  await stack?.stop();
});

const get = (path: string) => fetch(`${gateway.url}/pacs/dicom-web${path}`, { headers: { authorization: `Bearer ${token}` } });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('proxy connection pool to an upstream with a 1 s keep-alive', () => {
  it('reuses one upstream connection for sequential requests', async () => {
    await sleep(1100); // let connections of earlier requests expire
    upstreamConnections = 0;
    for (let index = 0; index < 20; index++) {
      const response = await get('/studies');
      expect(response.status).toBe(200);
      await response.text();
    }
    expect(upstreamConnections).toBe(1);
  });

  it('answers every request of bursts separated by idle gaps around the upstream keep-alive timeout', async () => {
    const statuses: number[] = [];
    for (const gap of [750, 900, 1000, 1100]) {
      const responses = await Promise.all(Array.from({ length: 4 }, () => get('/studies')));
      for (const response of responses) {
        statuses.push(response.status);
        await response.text();
      }
      await sleep(gap);
    }
    expect(statuses.filter((status) => status !== 200)).toEqual([]);
  }, 15_000);

  it('cancels the request to the upstream when the client goes away while waiting for the answer', async () => {
    slowRequestsCancelled = 0;
    const controller = new AbortController();
    const pending = fetch(`${gateway.url}/pacs/dicom-web/studies/1.2.3/metadata`, { headers: { authorization: `Bearer ${token}` }, signal: controller.signal });
    await sleep(300);
    controller.abort();
    await expect(pending).rejects.toThrow();
    await sleep(300); // well before the upstream would answer (1.5 s)
    expect(slowRequestsCancelled).toBe(1);
    const next = await get('/studies');
    expect(next.status).toBe(200);
    await next.text();
  });

  it('cuts the client response when the upstream cuts the body, and serves the next request', async () => {
    const response = await get('/studies/1.2.3/series/1.2.4/instances/1.2.5/frames/1');
    expect(response.status).toBe(200);
    await expect(response.arrayBuffer()).rejects.toThrow();
    const next = await get('/studies');
    expect(next.status).toBe(200);
    expect(await next.json()).toEqual([]);
  });
});
