/**
 * The connection pool to Orthanc: Orthanc answers `Keep-Alive: timeout=1`, which makes Node's own
 * agent drop every connection after one request. Ours reuses connections within that second and
 * closes idle ones before Orthanc does (no request may land on a socket the server is closing).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createUpstreamAgent, pooledIdleMs } from '../../../src/upstream/upstream-agent.js';
import type { Config } from '../../../src/config/config.js';

describe('pooledIdleMs', () => {
  it.each([
    [undefined, 800],
    ['timeout=1', 800],
    ['timeout=5, max=100', 800],
    ['max=100, timeout=1', 800],
    ['timeout=0', 0],
    ['garbage', 800],
  ])('Keep-Alive %p → %p ms', (header, expected) => {
    expect(pooledIdleMs(header)).toBe(expected);
  });
});

describe('createUpstreamAgent against a server announcing Keep-Alive: timeout=1 (like Orthanc)', () => {
  let server: http.Server;
  let url: string;
  let connections = 0;

  beforeAll(async () => {
    server = http.createServer((_req, res) => res.end('ok'));
    server.keepAliveTimeout = 1000; // Node then answers `Keep-Alive: timeout=1` and closes idle sockets after 1 s
    server.on('connection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const agentFor = () => createUpstreamAgent({ url } as Config['orthanc']);
  const get = (agent: http.Agent) =>
    new Promise<{ status: number; keepAlive: string | undefined }>((resolve, reject) => {
      http
        .get(url, { agent }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, keepAlive: res.headers['keep-alive'] as string | undefined }));
        })
        .on('error', reject);
    });
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('reuses one connection for back-to-back requests (Node’s default agent would open one per request)', async () => {
    const agent = agentFor();
    connections = 0;
    for (let index = 0; index < 10; index++) expect((await get(agent)).status).toBe(200);
    expect((await get(agent)).keepAlive).toBe('timeout=1');
    expect(connections).toBe(1);
    agent.destroy();
  });

  it('closes idle connections before the server does: requests after idle gaps around 1 s all succeed', async () => {
    const agent = agentFor();
    connections = 0;
    for (const gap of [300, 780, 950, 1050]) {
      expect((await get(agent)).status).toBe(200);
      await sleep(gap);
    }
    expect((await get(agent)).status).toBe(200);
    // 300 ms: reused; 780 ms: reused or closed just in time; 950 and 1050 ms: new connections.
    expect(connections).toBeGreaterThanOrEqual(3);
    expect(connections).toBeLessThanOrEqual(4);
    agent.destroy();
  }, 10_000);
});

/**
 * The pool's idle timer is for free connections only. Node gives an agent-level `timeout` to every
 * new connection and forwards it as the request's 'timeout' event when the request brings none: a
 * caller that aborts on 'timeout' (as the proxy and the Orthanc client do) would be cut after 800 ms.
 */
describe('createUpstreamAgent never times out a request that brings no timeout of its own', () => {
  const ANSWER_AFTER_MS = 1500;
  let server: http.Server;
  let url: string;
  let connections = 0;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/slow') setTimeout(() => res.end('slow'), ANSWER_AFTER_MS);
      else res.end('ok');
    });
    server.keepAliveTimeout = 1000;
    server.on('connection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  /** A GET without a `timeout` option that gives up on the request's 'timeout' event. */
  const get = (agent: http.Agent, path: string) =>
    new Promise<string>((resolve, reject) => {
      const request = http.get(`${url}${path}`, { agent }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve(body));
      });
      request.on('timeout', () => request.destroy(new Error('timed out')));
      request.on('error', reject);
    });

  it('on a new connection', async () => {
    const agent = createUpstreamAgent({ url } as Config['orthanc']);
    connections = 0;
    expect(await get(agent, '/slow')).toBe('slow');
    expect(connections).toBe(1);
    agent.destroy();
  }, 10_000);

  it('on a pooled connection (whose idle timer ran while it was free)', async () => {
    const agent = createUpstreamAgent({ url } as Config['orthanc']);
    connections = 0;
    expect(await get(agent, '/')).toBe('ok');
    expect(await get(agent, '/slow')).toBe('slow');
    expect(connections).toBe(1);
    agent.destroy();
  }, 10_000);
});
