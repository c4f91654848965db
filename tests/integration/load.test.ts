import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { runSoak, startSoakStack, type SoakStack } from '../support/soak.js';

/**
 * A short soak in every `npm test`: 10 s at 50 connections mixing QIDO-RS and WADO-RS frames (Bearer),
 * plus a browser sign-in every 2 s, against the gateway as its own process. Zero errors; p99 and the
 * gateway's RSS (first vs last 3 s) are printed. The long version (60 s, 200 connections) is
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
  expect({ errors: report.errors, timeouts: report.timeouts, non2xx: report.non2xx, statusCodes: report.statusCodes }).toEqual({
    errors: 0,
    timeouts: 0,
    non2xx: 0,
    statusCodes: { 200: report.requests },
  });
  expect(report.requests).toBeGreaterThan(seconds * 10);
  expect(report.logins.failed).toBe(0);
  expect(report.logins.ok).toBeGreaterThan(0);
  // Generous bounds for a shared CI machine: they catch hangs and leaks, not regressions of a few ms.
  expect(report.p99Ms).toBeLessThan(5000);
  expect(report.rssMb.last).toBeLessThan(report.rssMb.first + 150);
}, 120_000);
