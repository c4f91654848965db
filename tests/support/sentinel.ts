import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { waitFor } from './process.js';
import { redisServerArgs } from './redis.js';
import { redisCommand, startRedisGroup } from './redis-group.js';

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

export async function startSentinelGroup({ sentinels = 3, downAfterMs = 1000, name = 'gateway-test' } = {}): Promise<SentinelGroup> {
  const group = await startRedisGroup('redis-sentinel-test-');
  try {
    const primaryPort = await freePort();
    // No 5 s wait for more replicas before the first (diskless) sync.
    const primary = await group.start('primary', primaryPort, [...redisServerArgs(primaryPort, group.memberDir('primary'), 'notice'), '--repl-diskless-sync-delay', '0']);
    const replicaPort = await freePort();
    await group.start('replica', replicaPort, [...redisServerArgs(replicaPort, group.memberDir('replica'), 'notice'), '--replicaof', '127.0.0.1', String(primaryPort)]);
    await waitFor(async () => /master_link_status:up/.test(String(await redisCommand(replicaPort, 'INFO', 'replication'))), {
      what: 'the replica to sync with the primary',
      timeoutMs: 10_000,
    });

    const sentinelPorts: number[] = [];
    for (let index = 0; index < sentinels; index++) {
      const port = await freePort();
      const member = `sentinel-${index + 1}`;
      const memberDir = group.memberDir(member);
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
      await group.start(member, port, [conf, '--sentinel']);
      sentinelPorts.push(port);
    }
    // A failover needs sentinels that know the replica and each other (hello messages, every 2 s).
    await waitFor(
      async () => {
        for (const port of sentinelPorts) {
          const replicas = (await redisCommand(port, 'SENTINEL', 'REPLICAS', name)) as unknown[];
          const peers = (await redisCommand(port, 'SENTINEL', 'SENTINELS', name)) as unknown[];
          if (replicas.length < 1 || peers.length < sentinels - 1) return false;
        }
        return true;
      },
      { what: 'the sentinels to discover the replica and each other', timeoutMs: 15_000, intervalMs: 200 },
    );

    return {
      name,
      sentinelsEnv: sentinelPorts.map((port) => `127.0.0.1:${port}`).join(','),
      primaryPort,
      replicaPort,
      async reportedPrimaryPort() {
        for (const port of sentinelPorts) {
          const address = (await redisCommand(port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name).catch(() => undefined)) as string[] | undefined;
          if (address?.[1]) return Number(address[1]);
        }
        return undefined;
      },
      async waitForReplication(timeoutMs = 5000) {
        const acknowledged = Number(await redisCommand(primaryPort, 'WAIT', '1', String(timeoutMs)));
        if (acknowledged < 1) throw new Error('the replica did not acknowledge the writes in time');
      },
      killPrimary() {
        primary.child.kill('SIGKILL');
      },
      output: group.output,
      stop: group.stop,
    };
  } catch (error) {
    return group.fail(error);
  }
}
