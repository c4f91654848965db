import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { expect } from '@jest/globals';
import type { TestOrthanc } from './orthanc.js';

/** Shared checks of the attack suite (tests/security): nothing reached Orthanc, the gateway lives on. */

/** The gateway process still serves requests (liveness answered by the gateway itself). */
export async function expectGatewayAlive(gatewayUrl: string): Promise<void> {
  const response = await fetch(`${gatewayUrl}/healthz`);
  expect(response.status).toBe(200);
  expect(await response.json()).toEqual({ status: 'ok' });
}

/** Orthanc's request log (written after its Basic authentication, see orthanc.ts) is empty. */
export async function expectOrthancSawNothing(orthanc: TestOrthanc): Promise<void> {
  expect(await orthanc.seenRequests()).toEqual([]);
}

/** Env for suites that fail authentication or start sign-ins on purpose, many times, from 127.0.0.1. */
export const NO_RATE_LIMITS = {
  RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '100000',
  RATE_LIMIT_LOGIN_PER_MINUTE: '100000',
} as const;

export interface CountingServer {
  url: string;
  /** Every request received, "METHOD /path". */
  requests(): string[];
  stop(): Promise<void>;
}

/**
 * An HTTP server that records every request and answers each with `body` (JSON). Used as the
 * target of `jku` / `x5u` headers: the gateway must never fetch it.
 */
export async function startCountingServer(body: unknown = {}): Promise<CountingServer> {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => [...seen],
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface ConnectionCounter {
  port: number;
  /** TCP connections accepted so far. */
  connections(): number;
  stop(): Promise<void>;
}

/** A TCP port that counts the connections made to it and drops each at once (a host Orthanc must not reach). */
export async function startConnectionCounter(): Promise<ConnectionCounter> {
  let count = 0;
  const server = net.createServer((socket) => {
    count += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => count,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
