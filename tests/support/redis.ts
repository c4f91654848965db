import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { spawnManaged, stopProcess, waitFor, type ManagedProcess } from './process.js';

export const REDIS_BINARY = '/usr/bin/redis-server';

export interface TestRedis {
  url: string;
  port: number;
  /** PID of the current redis-server process (changes on restart). */
  readonly pid: number;
  /** Captured redis-server output (tail) of the current process. */
  output(): string;
  /** Stops the server (data is lost: no persistence); stop() again or after restart is fine. */
  stop(): Promise<void>;
  /** Stop, then start a fresh empty server on the same port (reconnect tests). */
  restart(): Promise<void>;
}

/** Raw RESP PING over TCP; resolves true on "+PONG", false on anything else or timeout. */
export function redisPing(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    const finish = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG'));
    });
  });
}

/** Arguments of a loopback redis-server on `port` that keeps nothing on disk, in the foreground (--daemonize yes leaves a zombie here and loses the PID). */
export function redisServerArgs(port: number, dir: string, logLevel = 'warning'): string[] {
  return ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', logLevel];
}

function spawnRedis(port: number, dir: string): ManagedProcess {
  return spawnManaged(REDIS_BINARY, redisServerArgs(port, dir), { cwd: dir });
}

async function waitReady(proc: ManagedProcess, port: number): Promise<void> {
  try {
    await waitFor(() => redisPing(port, 500), {
      what: `redis-server PONG on port ${port}`,
      timeoutMs: 10_000,
      abortIf: () => (proc.hasExited() ? 'redis-server exited during startup' : undefined),
    });
  } catch (err) {
    await stopProcess(proc, { timeoutMs: 3000 });
    const error = new Error(`${(err as Error).message}\n--- redis-server output ---\n${proc.output()}`);
    (error as Error & { redisExited?: boolean }).redisExited = true;
    throw error;
  }
}

async function startOnce(): Promise<TestRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'redis-test-'));
  const port = await freePort();
  let proc = spawnRedis(port, dir);
  try {
    await waitReady(proc, port);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  let removed = false;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get pid() {
      return proc.pid;
    },
    output: () => proc.output(),
    async stop() {
      await stopProcess(proc, { timeoutMs: 5000 });
      if (!removed) {
        removed = true;
        await rm(dir, { recursive: true, force: true });
      }
    },
    async restart() {
      await stopProcess(proc, { timeoutMs: 5000 });
      await mkdir(dir, { recursive: true });
      removed = false;
      proc = spawnRedis(port, dir);
      await waitReady(proc, port);
    },
  };
}

/** Starts a throw-away redis-server on a free loopback port (retries on a port race). */
export async function startRedis(): Promise<TestRedis> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce();
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError;
}
