/**
 * Soak test (issue 9): the gateway as its own process under a long mixed load — QIDO-RS searches
 * and WADO-RS frames with a Bearer token on every connection, plus a browser sign-in every 2 s —
 * reporting errors, p50/p99 latency and the gateway's RSS over the first vs the last 10 s.
 *
 *   node --import tsx bench/soak.ts                              60 s at 200 connections
 *   node --import tsx bench/soak.ts --seconds=20 --connections=50 --out=/tmp
 *
 * Results go to bench/results/soak.json (or --out); exit status 1 when any request or sign-in
 * failed. Loopback only, on free ports; every process stops at the end (or when this one dies).
 * The short version runs in `npm test` (tests/integration/load.test.ts).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runSoak, startSoakStack } from '../tests/support/soak.js';

const option = (name: string) => process.argv.slice(2).find((arg) => arg.startsWith(`--${name}=`))?.split('=')[1];
const seconds = Number(option('seconds') ?? 60);
const connections = Number(option('connections') ?? 200);
const outDir = resolve(option('out') ?? join(dirname(fileURLToPath(import.meta.url)), 'results'));

const stack = await startSoakStack();
let failed = true;
try {
  console.log(`soak: ${seconds} s at ${connections} connections against ${stack.gatewayUrl} (gateway pid ${stack.gatewayPid})…`);
  const report = await runSoak(stack, { seconds, connections, windowSeconds: 10 });
  const result = {
    date: new Date().toISOString(),
    machine: { cpus: availableParallelism(), loadAverage1m: Math.round(loadavg()[0]! * 10) / 10, node: process.version },
    ...report,
  };
  await mkdir(outDir, { recursive: true });
  const file = join(outDir, 'soak.json');
  await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(
    [
      `requests   ${report.requests} in ${report.seconds} s (${report.reqPerSec}/s), status codes ${JSON.stringify(report.statusCodes)}`,
      `errors     ${report.errors} errors, ${report.timeouts} timeouts, ${report.non2xx} non-2xx`,
      `latency    p50 ${report.p50Ms} ms, p99 ${report.p99Ms} ms, max ${report.maxMs} ms`,
      `sign-ins   ${report.logins.ok} ok, ${report.logins.failed} failed`,
      `gateway    RSS ${report.rssMb.first} MB (first ${report.rssMb.windowSeconds} s) → ${report.rssMb.last} MB (last ${report.rssMb.windowSeconds} s), max ${report.rssMb.max} MB`,
      `           RSS per ${report.rssMb.windowSeconds} s: ${report.rssMb.byWindow.join(' → ')} MB`,
      `written    ${file}`,
    ].join('\n'),
  );
  failed = report.errors + report.timeouts + report.non2xx + report.logins.failed > 0;
  if (failed) {
    const problems = stack.gatewayOutput().split('\n').filter((line) => /"level":(40|50|60)/.test(line) || (line.length > 0 && !line.startsWith('{')));
    console.log(`--- gateway warnings and errors (last ${Math.min(20, problems.length)}) ---\n${problems.slice(-20).join('\n')}`);
  }
} finally {
  await stack.stop();
}
process.exit(failed ? 1 : 0);
