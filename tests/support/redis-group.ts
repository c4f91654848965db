import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { spawnManaged, stopProcess, waitFor, type ManagedProcess } from './process.js';
import { REDIS_BINARY, redisPing } from './redis.js';

/**
 * Several foreground redis-server processes (cluster nodes, a primary with its replica and
 * sentinels) in one temp dir, each in a folder of its own; output() and stop() cover them all.
 */
export interface RedisGroup {
  /** The folder of member `name` (made by start(); earlier by the caller when it writes a config file there). */
  memberDir(name: string): string;
  /** Starts `redis-server <args>` in memberDir(name) and waits until `port` answers PING. */
  start(name: string, port: number, args: string[]): Promise<ManagedProcess>;
  /** Output of every process (tails), for failure messages. */
  output(): string;
  stop(): Promise<void>;
  /** Stops the group and throws `error` with every member's output appended: for a failed start-up. */
  fail(error: unknown): Promise<never>;
}

/** One short-lived client for a command; never retries, never queues. */
export async function redisCommand(port: number, ...args: Array<string | number>): Promise<unknown> {
  const client = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await client.call(String(args[0]), ...args.slice(1).map(String));
  } finally {
    client.disconnect();
  }
}

export async function startRedisGroup(prefix: string): Promise<RedisGroup> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const members: Array<{ name: string; port: number; proc: ManagedProcess }> = [];
  const memberDir = (name: string) => join(dir, name);
  const output = () => members.map((member) => `--- ${member.name} (port ${member.port}) ---\n${member.proc.output()}`).join('\n');
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      await Promise.all(members.map((member) => stopProcess(member.proc, { timeoutMs: 5000 })));
      await rm(dir, { recursive: true, force: true });
    })());
  return {
    memberDir,
    async start(name, port, args) {
      await mkdir(memberDir(name), { recursive: true });
      const proc = spawnManaged(REDIS_BINARY, args, { cwd: memberDir(name) });
      members.push({ name, port, proc });
      await waitFor(() => redisPing(port, 500), {
        what: `${name} (redis on port ${port}) to answer PING`,
        timeoutMs: 10_000,
        abortIf: () => (proc.hasExited() ? `${name} exited:\n${proc.output()}` : undefined),
      });
      return proc;
    },
    output,
    stop,
    async fail(error) {
      const details = output();
      await stop();
      throw new Error(`${(error as Error).message}\n${details}`);
    },
  };
}
