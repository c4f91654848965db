import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { acceptsConnections, freePort } from '../../tests/support/free-port.js';
import { runNginx, type RunningNginx } from '../../tests/support/nginx.js';
import { waitFor } from '../../tests/support/process.js';
import { processTree } from './procstat.js';

/**
 * Child processes of the benchmark (the gateway, Orthanc, the node proxy): their output goes to a
 * file, never through a pipe into the benchmark process (which also runs the load generator), and
 * they die with it (setpriv --pdeathsig).
 */
export interface BenchProcess {
  pid: number;
  logFile: string;
  log(): string;
  exited(): boolean;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Kills one process tree still running, its root first. */
const killers = new Set<() => void>();
const kill = (pid: number) => {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
};
// Whatever way this process ends, its children and theirs (nginx workers, cluster workers) end too:
// setpriv's parent-death signal covers only the direct child.
process.on('exit', () => {
  for (const killTree of killers) killTree();
});

const TERMINATION_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * A script that starts children calls this once: Node runs no 'exit' handler when a signal ends the
 * process unhandled, so a `kill` or Ctrl-C would leave nginx's worker (not a direct child) running.
 * On SIGINT, SIGTERM or SIGHUP: `stop` (a graceful cleanup, if any), then exit with 128 + the signal's
 * number, which runs the 'exit' handler above. SIGKILL cannot be caught: only the direct children die then.
 */
export function exitOnTerminationSignals(stop: (signal: NodeJS.Signals) => Promise<void> = async () => undefined): void {
  for (const signal of TERMINATION_SIGNALS) {
    process.once(signal, () => {
      void stop(signal)
        .catch(() => undefined)
        .finally(() => process.exit(128 + osConstants.signals[signal]));
    });
  }
}

export function spawnLogged(command: string, args: string[], { cwd, env, logFile }: { cwd: string; env?: NodeJS.ProcessEnv; logFile: string }): BenchProcess {
  const fd = openSync(logFile, 'a');
  const setpriv = '/usr/bin/setpriv';
  const child = existsSync(setpriv)
    ? spawn(setpriv, ['--pdeathsig', 'KILL', '--', command, ...args], { cwd, env, stdio: ['ignore', fd, fd] })
    : spawn(command, args, { cwd, env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const killTree = () => processTree(child.pid ?? -1).reverse().forEach(kill);
  killers.add(killTree);
  let exited = false;
  const done = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      killers.delete(killTree);
      resolve();
    });
  });
  return {
    pid: child.pid ?? -1,
    logFile,
    log: () => readFileSync(logFile, 'utf8'),
    exited: () => exited,
    stop: async (signal = 'SIGTERM') => {
      if (exited) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await done;
      clearTimeout(timer);
    },
  };
}

export interface GatewayLaunch {
  env: Record<string, string>;
  workers: number;
  /** Node flags for the gateway, e.g. --cpu-prof. */
  nodeFlags?: string[];
  dir: string;
  name: string;
  repoRoot: string;
  /** How to start it: default the TypeScript sources through tsx; e.g. ['dist/main.js'] for a build. */
  entry?: string[];
}

export interface BenchGateway extends BenchProcess {
  url: string;
  port: number;
}

/**
 * glibc's malloc tuning the production image sets (docker/Dockerfile's runtime ENV): freed memory up
 * to 64 MB stays mapped (bench/README.md, "Issue 16", section 12). A gateway run here gets it too,
 * unless `env` says otherwise.
 */
export const IMAGE_GLIBC_TUNABLES = 'glibc.malloc.trim_threshold=67108864';

/**
 * The Node flags of docker/Dockerfile's CMD and `npm start`: no V8 memory reducer (bench/README.md,
 * "Issue 16", section 25) and one V8 worker thread (section 24). Every gateway and bare Node proxy of
 * a run gets them, as they get the image's malloc setting; `nodeFlags` come after them and win.
 */
export const IMAGE_NODE_FLAGS: readonly string[] = ['--no-memory-reducer', '--v8-pool-size=1'];

/** The gateway as production runs it, in its own process (node cluster when WORKERS > 1). */
export async function startGatewayProcess({ env, workers, nodeFlags = [], dir, name, repoRoot, entry = ['--import', 'tsx', 'src/main.ts'] }: GatewayLaunch): Promise<BenchGateway> {
  const port = await freePort();
  const proc = spawnLogged(process.execPath, [...IMAGE_NODE_FLAGS, ...nodeFlags, ...entry], {
    cwd: repoRoot,
    logFile: join(dir, `${name}.log`),
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: process.env['HOME'] ?? '/tmp',
      NODE_ENV: 'production',
      PORT: String(port),
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      LOG_LEVEL: 'info',
      WORKERS: String(workers),
      GLIBC_TUNABLES: IMAGE_GLIBC_TUNABLES,
      ...env,
    },
  });
  // Each worker logs "gateway listening" (at LOG_LEVEL info and below; else only the port is checked).
  const logsListening = ['info', 'debug', 'trace'].includes(env['LOG_LEVEL'] ?? 'info');
  const listening = () => (logsListening ? (proc.log().match(/"msg":"gateway listening"/g) ?? []).length : workers);
  try {
    await waitFor(() => listening() >= workers && acceptsConnections(port), {
      what: `gateway ${name} (${workers} worker(s)) listening on ${port}`,
      timeoutMs: 30_000,
      abortIf: () => (proc.exited() ? `it exited:\n${proc.log().slice(-4000)}` : undefined),
    });
  } catch (error) {
    await proc.stop('SIGKILL');
    throw error;
  }
  return { ...proc, url: `http://127.0.0.1:${port}`, port };
}

export interface NginxSite {
  /** The server block(s), `listen` included. */
  servers: string;
  workers: number;
}

export interface BenchNginx extends RunningNginx {
  url: string;
}

/**
 * Debian's nginx (tests/support/nginx.ts) with a master and `workers` worker processes, in the
 * foreground; its process group dies with this process.
 */
export async function startNginx(name: string, site: (port: number) => NginxSite): Promise<BenchNginx> {
  const port = await freePort();
  const { servers, workers } = site(port);
  const nginx = await runNginx(port, () => `  keepalive_requests 100000;\n${servers}`, `nginx ${name}`, { workers });
  const killGroup = () => kill(-nginx.pid);
  killers.add(killGroup);
  const stop = async () => {
    await nginx.stop();
    killGroup(); // workers left behind by a master that had to be SIGKILLed
    killers.delete(killGroup);
  };
  return { ...nginx, url: `http://127.0.0.1:${port}`, stop };
}

/** nginx as the plain reverse proxy of seed 000: a fixed Orthanc credential, keep-alive upstream. */
export function nginxProxySite(upstream: string, authorization: string, workers: number) {
  return (port: number): NginxSite => ({
    workers,
    servers: `
  upstream backend {
    server ${new URL(upstream).host};
    keepalive 64;
    keepalive_timeout 800ms; # Orthanc closes idle connections after 1 s
  }
  server {
    listen 127.0.0.1:${port};
    client_max_body_size 0;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Authorization "${authorization}";
      proxy_request_buffering off;
      proxy_buffering off;
      proxy_read_timeout 300s;
    }
  }`,
  });
}

/** A trivial upstream: a small JSON answer to every authenticated request, 401 without credentials. */
export const TRIVIAL_BODY = JSON.stringify({ ok: true, note: 'trivial upstream for the gateway benchmark', padding: 'x'.repeat(160) });
export function trivialUpstreamSite(port: number): NginxSite {
  return {
    workers: 1,
    servers: `
  server {
    listen 127.0.0.1:${port};
    default_type application/json;
    location / {
      if ($http_authorization = "") { return 401; }
      return 200 '${TRIVIAL_BODY}';
    }
  }`,
  };
}

/** The trivial upstream's answer after `delayMs` (bench/lib/delayed-upstream.mjs), a plain node:http server. */
export async function startDelayedUpstream(dir: string, repoRoot: string, delayMs: number): Promise<BenchProcess & { url: string; port: number }> {
  const port = await freePort();
  const proc = spawnLogged(process.execPath, [join(repoRoot, 'bench', 'lib', 'delayed-upstream.mjs'), String(port), String(delayMs), TRIVIAL_BODY], { cwd: repoRoot, logFile: join(dir, 'delayed-upstream.log') });
  await waitFor(() => acceptsConnections(port), {
    what: `delayed upstream listening on ${port}`,
    timeoutMs: 10_000,
    abortIf: () => (proc.exited() ? `delayed upstream exited:\n${proc.log()}` : undefined),
  });
  return { ...proc, url: `http://127.0.0.1:${port}`, port };
}

/**
 * bench/node-proxy.mjs: the minimal node:http reverse proxy (the floor for any Node.js proxy); or
 * another script with the same arguments (bench/node-proxy-undici.mjs), with the gateway's Node flags and environment
 * for malloc.
 */
export async function startNodeProxy(dir: string, repoRoot: string, upstream: string, authorization: string, script = 'node-proxy.mjs'): Promise<BenchProcess & { url: string; port: number }> {
  const port = await freePort();
  const proc = spawnLogged(process.execPath, [...IMAGE_NODE_FLAGS, join(repoRoot, 'bench', script), String(port), upstream, authorization], {
    cwd: repoRoot,
    // The floor runs with the gateway's malloc setting and Node flags: without the first a bare proxy faults in ~130 pages per frame (section 15).
    env: { ...process.env, GLIBC_TUNABLES: IMAGE_GLIBC_TUNABLES },
    logFile: join(dir, `${script}.log`),
  });
  await waitFor(() => acceptsConnections(port), {
    what: `node-proxy listening on ${port}`,
    timeoutMs: 10_000,
    abortIf: () => (proc.exited() ? `node-proxy exited:\n${proc.log()}` : undefined),
  });
  return { ...proc, url: `http://127.0.0.1:${port}`, port };
}
