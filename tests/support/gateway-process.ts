import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './free-port.js';
import { spawnManaged, stopProcess, waitFor, type ManagedProcess } from './process.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The gateway as production runs it: its own process (`node --import tsx src/main.ts`, the same
 * entry point as `node dist/main.js`), configured only by environment variables. For what only a
 * real process shows: exit codes, start-up checks, signals.
 */
export interface GatewayProcess {
  proc: ManagedProcess;
  port: number;
  /** http(s)://127.0.0.1:<port> */
  url: string;
  /** stdout + stderr so far (pino JSON lines and plain stderr messages). */
  output(): string;
  /** Resolves when the gateway logged "gateway listening"; rejects (with its output) if it exits first. */
  listening(timeoutMs?: number): Promise<void>;
  /** Resolves with the exit code (null when killed by a signal) within timeoutMs, else rejects. */
  exitCode(timeoutMs?: number): Promise<number | null>;
  /** SIGTERM, then SIGKILL after a while: safe to call in afterAll / finally, also when already exited. */
  stop(): Promise<void>;
}

export async function spawnGateway(env: Record<string, string | undefined>, { tls = false } = {}): Promise<GatewayProcess> {
  const port = await freePort();
  const proc = spawnManaged(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: process.env['HOME'] ?? '/tmp',
      PORT: String(port),
      PUBLIC_URL: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
      LOG_LEVEL: 'info',
      ...env,
    },
  });
  const output = () => proc.output();
  return {
    proc,
    port,
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    output,
    listening: async (timeoutMs = 20_000) => {
      await waitFor(() => output().includes('"msg":"gateway listening"'), {
        what: 'the gateway process to log "gateway listening"',
        timeoutMs,
        abortIf: () => (proc.hasExited() ? `the gateway exited:\n${output()}` : undefined),
      });
    },
    exitCode: async (timeoutMs = 20_000) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the gateway did not exit within ${timeoutMs} ms:\n${output()}`)), timeoutMs);
      });
      try {
        return (await Promise.race([proc.exited, timeout])).code;
      } finally {
        clearTimeout(timer);
      }
    },
    stop: () => stopProcess(proc, { timeoutMs: 15_000 }),
  };
}

/** The pino lines of a gateway's output, parsed (other lines skipped). */
export function logLines(output: string): Array<Record<string, unknown> & { level: number; msg: string }> {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown> & { level: number; msg: string }];
      } catch {
        return [];
      }
    });
}
