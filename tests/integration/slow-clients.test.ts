import { connect } from 'node:net';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { startBearerStack, type BearerStack } from '../support/bearer-stack.js';

/** A client trickling its request body cannot hold a connection past REQUEST_TIMEOUT_SECONDS. */
let stack: BearerStack;

beforeAll(async () => {
  stack = await startBearerStack({ REQUEST_TIMEOUT_SECONDS: '2' });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

it('answers 408 and closes the connection of a client sending one byte at a time', async () => {
  const { port } = new URL(stack.gateway.url);
  const socket = connect(Number(port), '127.0.0.1');
  let answer = '';
  socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.write('POST /auth/backchannel-logout HTTP/1.1\r\nHost: gw\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n');
  const trickle = setInterval(() => socket.writable && socket.write('a'), 250);
  const started = Date.now();
  await closed;
  clearInterval(trickle);
  expect(answer).toMatch(/^HTTP\/1\.1 408/);
  expect(Date.now() - started).toBeLessThan(10_000);
  expect((await fetch(`${stack.gateway.url}/healthz`)).status).toBe(200);
}, 20_000);
