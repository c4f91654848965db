import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './free-port.js';
import { spawnManaged, stopProcess, waitFor, type ManagedProcess } from './process.js';
import { REDIS_BINARY, redisPing } from './redis.js';

/**
 * A real Redis Sentinel setup on loopback: a primary, one replica (`replicaof`) and N sentinels
 * (Debian's redis-server in sentinel mode, `redis-server <conf> --sentinel`: the same binary the
 * `redis-sentinel` package links to), each a foreground process in a temp dir. Sentinels declare
 * the primary down after `downAfterMs` (default 1 s), so a failover takes a few seconds.
 */
export interface SentinelGroup {
  /** The monitored primary's name (REDIS_SENTINEL_NAME). */
  name: string;
  /** `127.0.0.1:p1,127.0.0.1:p2,…` (REDIS_SENTINELS). */
  sentinelsEnv: string;
  primaryPort: number;
  replicaPort: number;
  /** The primary's port as the sentinels currently report it. */
  reportedPrimaryPort(): Promise<number | undefined>;
  /** Returns once the replica has acknowledged every write made on the primary so far (WAIT). */
  waitForReplication(timeoutMs?: number): Promise<void>;
  /** SIGKILL the (initial) primary: no goodbye, like a crashed host. */
  killPrimary(): void;
  /** Output of every process (tails), for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

interface Member {
  role: string;
  port: number;
  proc: ManagedProcess;
}

/** One short-lived client for a command; never retries, never queues. */
async function command(port: number, ...args: string[]): Promise<unknown> {
  const client = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await client.call(args[0]!, ...args.slice(1));
  } finally {
    client.disconnect();
  }
}

export async function startSentinelGroup({ sentinels = 3, downAfterMs = 1000, name = 'gateway-test' } = {}): Promise<SentinelGroup> {
  const dir = await mkdtemp(join(tmpdir(), 'redis-sentinel-test-'));
  const members: Member[] = [];
  const serverArgs = (port: number, memberDir: string) => [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', memberDir, '--loglevel', 'notice',
  ];
  const start = async (role: string, port: number, args: string[]) => {
    const memberDir = join(dir, role);
    await mkdir(memberDir, { recursive: true });
    const proc = spawnManaged(REDIS_BINARY, args, { cwd: memberDir });
    members.push({ role, port, proc });
    await waitFor(() => redisPing(port, 500), {
      what: `${role} (redis on port ${port}) to answer PING`,
      timeoutMs: 10_000,
      abortIf: () => (proc.hasExited() ? `${role} exited:\n${proc.output()}` : undefined),
    });
  };
  const output = () => members.map((member) => `--- ${member.role} (port ${member.port}) ---\n${member.proc.output()}`).join('\n');
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      await Promise.all(members.map((member) => stopProcess(member.proc, { timeoutMs: 5000 })));
      await rm(dir, { recursive: true, force: true });
    })());

  try {
    const primaryPort = await freePort();
    // No 5 s wait for more replicas before the first (diskless) sync.
    await start('primary', primaryPort, [...serverArgs(primaryPort, join(dir, 'primary')), '--repl-diskless-sync-delay', '0']);
    const replicaPort = await freePort();
    await start('replica', replicaPort, [...serverArgs(replicaPort, join(dir, 'replica')), '--replicaof', '127.0.0.1', String(primaryPort)]);
    await waitFor(async () => /master_link_status:up/.test(String(await command(replicaPort, 'INFO', 'replication'))), {
      what: 'the replica to sync with the primary',
      timeoutMs: 10_000,
    });

    const sentinelPorts: number[] = [];
    for (let index = 0; index < sentinels; index++) {
      const port = await freePort();
      const memberDir = join(dir, `sentinel-${index + 1}`);
      await mkdir(memberDir, { recursive: true });
      // Sentinel rewrites its configuration file: it must be a writable file of its own.
      const conf = join(memberDir, 'sentinel.conf');
      await writeFile(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          'daemonize no',
          `dir ${memberDir}`,
          `sentinel monitor ${name} 127.0.0.1 ${primaryPort} ${Math.floor(sentinels / 2) + 1}`,
          `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
          `sentinel failover-timeout ${name} 5000`,
          `sentinel parallel-syncs ${name} 1`,
          '',
        ].join('\n'),
      );
      await start(`sentinel-${index + 1}`, port, [conf, '--sentinel']);
      sentinelPorts.push(port);
    }
    // A failover needs sentinels that know the replica and each other (hello messages, every 2 s).
    await waitFor(
      async () => {
        for (const port of sentinelPorts) {
          const replicas = (await command(port, 'SENTINEL', 'REPLICAS', name)) as unknown[];
          const peers = (await command(port, 'SENTINEL', 'SENTINELS', name)) as unknown[];
          if (replicas.length < 1 || peers.length < sentinels - 1) return false;
        }
        return true;
      },
      { what: 'the sentinels to discover the replica and each other', timeoutMs: 15_000, intervalMs: 200 },
    );

    const primary = members.find((member) => member.role === 'primary')!;
    return {
      name,
      sentinelsEnv: sentinelPorts.map((port) => `127.0.0.1:${port}`).join(','),
      primaryPort,
      replicaPort,
      async reportedPrimaryPort() {
        for (const port of sentinelPorts) {
          const address = (await command(port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name).catch(() => undefined)) as string[] | undefined;
          if (address?.[1]) return Number(address[1]);
        }
        return undefined;
      },
      async waitForReplication(timeoutMs = 5000) {
        const acknowledged = Number(await command(primaryPort, 'WAIT', '1', String(timeoutMs)));
        if (acknowledged < 1) throw new Error('the replica did not acknowledge the writes in time');
      },
      killPrimary() {
        primary.proc.child.kill('SIGKILL');
      },
      output,
      stop,
    };
  } catch (error) {
    const details = output();
    await stop();
    throw new Error(`${(error as Error).message}\n${details}`);
  }
}
