import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './free-port.js';
import { spawnManaged, stopProcess, waitFor, type ManagedProcess } from './process.js';
import { REDIS_BINARY, redisPing } from './redis.js';

/**
 * A real Redis Cluster on loopback: N primaries (no replicas), the 16384 hash slots split evenly
 * (CLUSTER ADDSLOTSRANGE + CLUSTER MEET, what `redis-cli --cluster create` does), each node a
 * foreground redis-server in a temp dir.
 */
export interface TestRedisCluster {
  ports: number[];
  /** `127.0.0.1:p1,127.0.0.1:p2` (REDIS_CLUSTER_NODES; the other nodes are discovered). */
  nodesEnv: string;
  /** Keys matching `pattern` on each node, by port. */
  keysByNode(pattern: string): Promise<Record<number, string[]>>;
  output(): string;
  stop(): Promise<void>;
}

async function command(port: number, ...args: Array<string | number>): Promise<unknown> {
  const client = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await client.call(String(args[0]), ...args.slice(1).map(String));
  } finally {
    client.disconnect();
  }
}

export async function startRedisCluster({ nodes = 3 } = {}): Promise<TestRedisCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'redis-cluster-test-'));
  const members: Array<{ port: number; proc: ManagedProcess }> = [];
  const output = () => members.map((member) => `--- node ${member.port} ---\n${member.proc.output()}`).join('\n');
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      await Promise.all(members.map((member) => stopProcess(member.proc, { timeoutMs: 5000 })));
      await rm(dir, { recursive: true, force: true });
    })());

  try {
    for (let index = 0; index < nodes; index++) {
      const port = await freePort();
      const nodeDir = join(dir, String(port));
      await mkdir(nodeDir);
      const proc = spawnManaged(
        REDIS_BINARY,
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', nodeDir,
          '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000', '--loglevel', 'warning'],
        { cwd: nodeDir },
      );
      members.push({ port, proc });
      await waitFor(() => redisPing(port, 500), {
        what: `cluster node on port ${port} to answer PING`,
        timeoutMs: 10_000,
        abortIf: () => (proc.hasExited() ? `node ${port} exited:\n${proc.output()}` : undefined),
      });
    }
    const slotsPerNode = Math.ceil(16384 / nodes);
    for (const [index, { port }] of members.entries()) {
      await command(port, 'CLUSTER', 'ADDSLOTSRANGE', index * slotsPerNode, Math.min(16383, (index + 1) * slotsPerNode - 1));
    }
    const [first, ...others] = members;
    for (const { port } of others) await command(first!.port, 'CLUSTER', 'MEET', '127.0.0.1', port);
    await waitFor(
      async () => {
        for (const { port } of members) {
          if (!/cluster_state:ok/.test(String(await command(port, 'CLUSTER', 'INFO')))) return false;
        }
        return true;
      },
      { what: 'cluster_state:ok on every node', timeoutMs: 15_000, intervalMs: 100 },
    );
  } catch (error) {
    const details = output();
    await stop();
    throw new Error(`${(error as Error).message}\n${details}`);
  }

  const ports = members.map((member) => member.port);
  return {
    ports,
    nodesEnv: ports.slice(0, 2).map((port) => `127.0.0.1:${port}`).join(','),
    async keysByNode(pattern) {
      const entries = await Promise.all(ports.map(async (port) => [port, (await command(port, 'KEYS', pattern)) as string[]] as const));
      return Object.fromEntries(entries);
    },
    output,
    stop,
  };
}
