import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface ManagedProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Last captured stdout+stderr (ring buffer), for error messages. */
  output(): string;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  hasExited(): boolean;
}

const running = new Set<ChildProcess>();
const SETPRIV = '/usr/bin/setpriv';

// Best effort for plain node scripts. Under Jest this hook never fires: the test sandbox's
// `process` is a copy whose 'exit' is never emitted; that is why spawnManaged also uses
// setpriv --pdeathsig (the kernel kills the child when the spawning process dies, even on SIGKILL).
process.on('exit', () => {
  for (const child of running) {
    try {
      child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
});

export function spawnManaged(
  command: string,
  args: readonly string[],
  options: {
    cwd?: string;
    env?: NodeJS.ProcessEnv;
    maxOutputChars?: number;
    dieWithParent?: boolean;
    /** Start in a new process group (pid = group id), so the whole tree can be signalled like Ctrl-C does. */
    processGroup?: boolean;
  } = {},
): ManagedProcess {
  const maxChars = options.maxOutputChars ?? 64 * 1024;
  let buffer = '';
  const append = (chunk: Buffer): void => {
    buffer += chunk.toString('utf8');
    if (buffer.length > maxChars) buffer = buffer.slice(buffer.length - maxChars);
  };

  const spawnOptions: SpawnOptions = {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.processGroup ?? false,
  };
  // setpriv execs the command, so the PID stays the command's own.
  const child =
    options.dieWithParent !== false && process.platform === 'linux' && existsSync(SETPRIV)
      ? spawn(SETPRIV, ['--pdeathsig', 'KILL', '--', command, ...args], spawnOptions)
      : spawn(command, args, spawnOptions);
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);

  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      running.delete(child);
      resolve({ code, signal });
    });
    child.once('error', (err) => {
      // spawn failure (ENOENT...): no 'exit' event follows.
      append(Buffer.from(`\n[spawn error] ${err.message}\n`));
      done = true;
      running.delete(child);
      resolve({ code: null, signal: null });
    });
  });

  if (child.pid !== undefined) running.add(child);
  return {
    child,
    pid: child.pid ?? -1,
    output: () => buffer,
    exited,
    hasExited: () => done,
  };
}

export interface WaitForOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Named in the timeout error: "Timed out after 5000 ms waiting for <what>". */
  what: string;
  /** Checked every round; a returned string aborts the wait with that message (e.g. "process exited"). */
  abortIf?: () => string | undefined;
}

/** Polls fn until it returns a truthy value (errors thrown by fn count as "not yet"). */
export async function waitFor<T>(fn: () => T | Promise<T>, opts: WaitForOptions): Promise<NonNullable<T>> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const intervalMs = opts.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    const abort = opts.abortIf?.();
    if (abort !== undefined) throw new Error(`Gave up waiting for ${opts.what}: ${abort}`);
    try {
      const value = await fn();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${opts.what}${detail}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Sends `signal` (SIGTERM), waits up to timeoutMs for exit, then SIGKILLs and waits again. */
export async function stopProcess(
  proc: ManagedProcess,
  opts: { signal?: NodeJS.Signals; timeoutMs?: number } = {},
): Promise<void> {
  if (proc.hasExited()) return;
  proc.child.kill(opts.signal ?? 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), opts.timeoutMs ?? 10_000);
  });
  const result = await Promise.race([proc.exited, timedOut]);
  clearTimeout(timer);
  if (result === 'timeout' && !proc.hasExited()) {
    proc.child.kill('SIGKILL');
    await proc.exited;
  }
}

/** Signals every process of a group started with `processGroup: true` (what Ctrl-C does in a terminal). */
export function signalGroup(proc: ManagedProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-proc.pid, signal);
  } catch {
    /* the group is gone */
  }
}
