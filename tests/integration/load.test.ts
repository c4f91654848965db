import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { logLines } from '../support/gateway-process.js';
import { runSoak, startSoakStack, type SoakStack } from '../support/soak.js';

/**
 * A short soak in every `npm test`: 10 s at 50 connections mixing QIDO-RS and WADO-RS frames (Bearer),
 * plus a browser sign-in every 2 s, against the gateway as its own process and a real Orthanc. Not a
 * single failed request (a pooled Orthanc connection closed under a request is retried, see
 * src/upstream/upstream-retry.ts), memory flat. Latency and throughput are printed, not asserted: this
 * runs on shared CI machines. The long version (60 s, 200 connections) is
 * `node --import tsx bench/soak.ts`; LOAD_SECONDS / LOAD_CONNECTIONS stretch this one.
 */
const seconds = Number(process.env['LOAD_SECONDS'] ?? 10);
const connections = Number(process.env['LOAD_CONNECTIONS'] ?? 50);
let stack: SoakStack;

beforeAll(async () => {
  stack = await startSoakStack();
}, 90_000);

afterAll(async () => {
  await stack?.stop();
});

it(`serves ${connections} connections for ${seconds} s without a single error, memory flat`, async () => {
  const report = await runSoak(stack, { seconds, connections, windowSeconds: Math.max(3, Math.round(seconds / 6)) });
  console.log(
    `load: ${report.requests} requests in ${report.seconds} s (${report.reqPerSec}/s) at ${report.connections} connections; ` +
      `p50 ${report.p50Ms} ms, p99 ${report.p99Ms} ms, max ${report.maxMs} ms; ` +
      `sign-ins ${report.logins.ok} ok / ${report.logins.failed} failed; ` +
      `gateway RSS ${report.rssMb.first} MB (first ${report.rssMb.windowSeconds} s) → ${report.rssMb.last} MB (last ${report.rssMb.windowSeconds} s), max ${report.rssMb.max} MB`,
  );
  // The gateway's warnings name the cause of a failed request (e.g. "Orthanc is unreachable (ECONNRESET)").
  const warnings = logLines(stack.gatewayOutput())
    .filter((line) => line.level >= 40 && line['check'] === undefined)
    .map((line) => line.msg);
  expect({ errors: report.errors, timeouts: report.timeouts, statusCodes: report.statusCodes, warnings }).toEqual({
    errors: 0,
    timeouts: 0,
    statusCodes: { 200: report.requests },
    warnings: [],
  });
  expect(report.requests).toBeGreaterThanOrEqual(connections);
  expect(report.logins).toEqual({ ok: expect.any(Number), failed: 0 });
  expect(report.logins.ok).toBeGreaterThan(0);
  // Generous for a shared CI machine: catches a leak, not a few MB.
  expect(report.rssMb.last).toBeLessThan(report.rssMb.first + 150);
}, 120_000);
