import { connect } from 'node:net';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startOrthanc, type TestOrthanc } from '../support/orthanc.js';
import { startTestIssuer, type TestIssuer } from '../support/test-issuer.js';

/** A client trickling its request body cannot hold a connection past REQUEST_TIMEOUT_SECONDS. */
let orthanc: TestOrthanc;
let issuer: TestIssuer;
let gateway: TestGateway;

beforeAll(async () => {
  [orthanc, issuer] = await Promise.all([startOrthanc(), startTestIssuer()]);
  gateway = await startTestGateway({
    OIDC_ISSUER: issuer.issuer,
    ORTHANC_URL: orthanc.url,
    ORTHANC_USERNAME: orthanc.username,
    ORTHANC_PASSWORD: orthanc.password,
    REQUEST_TIMEOUT_SECONDS: '2',
  });
}, 60_000);

afterAll(async () => {
  await gateway?.close(1000);
  await Promise.all([orthanc?.stop(), issuer?.stop()]);
});

it('answers 408 and closes the connection of a client sending one byte at a time', async () => {
  const { port } = new URL(gateway.url);
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
  expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200);
}, 20_000);
