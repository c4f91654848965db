/**
 * WORKERS > 1: the gateway process becomes a node:cluster primary with that many workers sharing
 * the port. It stops all of them on SIGTERM (exit 0), and exits 1 when a worker cannot start.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { freePort } from '../support/free-port.js';
import { logLines, spawnGateway, type GatewayProcess } from '../support/gateway-process.js';
import { waitFor } from '../support/process.js';

const started: GatewayProcess[] = [];
let blocker: Server | undefined;

afterEach(async () => {
  await Promise.all(started.splice(0).map((gateway) => gateway.stop()));
  await new Promise((resolve) => (blocker ? blocker.close(resolve) : resolve(undefined)));
  blocker = undefined;
});

/** Nothing answers at these: the start-up checks only warn about unreachable neighbours. */
async function env(extra: Record<string, string> = {}) {
  return {
    OIDC_ISSUER: `http://127.0.0.1:${await freePort()}/realms/orthanc`,
    ORTHANC_URL: `http://127.0.0.1:${await freePort()}`,
    ORTHANC_USERNAME: 'gateway',
    ORTHANC_PASSWORD: 'orthanc-password',
    REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
    SESSION_SECRET: 'workers-test-session-secret-0123456789abcdef',
    WORKERS: '2',
    ...extra,
  };
}

/** The cluster workers: child processes of the primary (Linux /proc). */
const childPids = (pid: number): number[] => {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
};

describe('WORKERS=2', () => {
  it('serves from two worker processes and stops them all on SIGTERM', async () => {
    const gateway = await spawnGateway(await env());
    started.push(gateway);
    await waitFor(() => logLines(gateway.output()).filter((line) => line.msg === 'gateway listening').length === 2, {
      what: 'two workers listening',
      timeoutMs: 30_000,
      abortIf: () => (gateway.proc.hasExited() ? `the gateway exited:\n${gateway.output()}` : undefined),
    });
    const workers = new Set(logLines(gateway.output()).filter((line) => line.msg === 'gateway listening').map((line) => line['worker']));
    expect(workers.size).toBe(2);
    const workerPids = childPids(gateway.proc.pid);
    expect(workerPids).toHaveLength(2);
    for (let index = 0; index < 10; index++) expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200);

    gateway.proc.child.kill('SIGTERM');
    expect(await gateway.exitCode()).toBe(0);
    for (const pid of workerPids) expect(() => process.kill(pid, 0)).toThrow();
  }, 60_000);

  it('exits 1 when a worker cannot start (the port is taken)', async () => {
    const port = await freePort();
    blocker = createServer();
    await new Promise<void>((resolve) => blocker!.listen(port, resolve));
    const gateway = await spawnGateway(await env({ PORT: String(port) }));
    started.push(gateway);
    expect(await gateway.exitCode(30_000)).toBe(1);
    expect(logLines(gateway.output()).some((line) => line.msg === 'a worker could not start: stopping')).toBe(true);
  }, 60_000);
});
