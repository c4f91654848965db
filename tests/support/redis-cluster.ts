import { freePort } from './free-port.js';
import { waitFor } from './process.js';
import { redisServerArgs } from './redis.js';
import { redisCommand, startRedisGroup } from './redis-group.js';

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

export async function startRedisCluster({ nodes = 3 } = {}): Promise<TestRedisCluster> {
  const group = await startRedisGroup('redis-cluster-test-');
  const ports: number[] = [];
  try {
    for (let index = 0; index < nodes; index++) {
      const port = await freePort();
      const name = `node-${index + 1}`;
      const cluster = ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000'];
      await group.start(name, port, [...redisServerArgs(port, group.memberDir(name)), ...cluster]);
      ports.push(port);
    }
    const slotsPerNode = Math.ceil(16384 / nodes);
    for (const [index, port] of ports.entries()) {
      await redisCommand(port, 'CLUSTER', 'ADDSLOTSRANGE', index * slotsPerNode, Math.min(16383, (index + 1) * slotsPerNode - 1));
    }
    const [first, ...others] = ports;
    for (const port of others) await redisCommand(first!, 'CLUSTER', 'MEET', '127.0.0.1', port);
    await waitFor(
      async () => {
        for (const port of ports) {
          if (!/cluster_state:ok/.test(String(await redisCommand(port, 'CLUSTER', 'INFO')))) return false;
        }
        return true;
      },
      { what: 'cluster_state:ok on every node', timeoutMs: 15_000, intervalMs: 100 },
    );
  } catch (error) {
    return group.fail(error);
  }

  return {
    ports,
    nodesEnv: ports.slice(0, 2).map((port) => `127.0.0.1:${port}`).join(','),
    async keysByNode(pattern) {
      const entries = await Promise.all(ports.map(async (port) => [port, (await redisCommand(port, 'KEYS', pattern)) as string[]] as const));
      return Object.fromEntries(entries);
    },
    output: group.output,
    stop: group.stop,
  };
}
