import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acceptsConnections, freePort } from './free-port.js';
import { spawnManaged, stopProcess, waitFor, type ManagedProcess } from './process.js';

export const NGINX_BINARY = '/usr/sbin/nginx';

/**
 * Debian's nginx as a TLS-terminating reverse proxy in front of a test Orthanc (Debian's Orthanc
 * crashes on its first HTTPS request on these machines, see CONTRACT.md), on a free loopback port,
 * with its own prefix, logs and temp dirs in a temp folder.
 *
 * It runs in the foreground as one process (`master_process off`): the whole server is then the one
 * PID spawnManaged watches, killed with the test process even on SIGKILL (no orphaned workers).
 */
export interface StartNginxOptions {
  /** Where nginx forwards to, e.g. the test Orthanc's http://127.0.0.1:<port>. */
  upstream: string;
  /** Server certificate chain and key (PEM). */
  certFile: string;
  keyFile: string;
  /** Mutual TLS: `ssl_verify_client on` with this CA bundle; requests without a valid client certificate get 400. */
  clientCaFile?: string;
}

export interface TestNginx {
  /** https://localhost:<port> (the name the test server certificate is issued for). */
  url: string;
  port: number;
  pid: number;
  output(): string;
  stop(): Promise<void>;
}

/** The TLS-terminating server block in front of `options.upstream`. */
function tlsServerBlock(port: number, options: StartNginxOptions): string {
  const upstream = new URL(options.upstream);
  const mutual = options.clientCaFile
    ? `ssl_client_certificate ${options.clientCaFile};\n    ssl_verify_client on;\n    ssl_verify_depth 2;`
    : '';
  return `
  server {
    listen 127.0.0.1:${port} ssl;
    server_name localhost;
    ssl_certificate ${options.certFile};
    ssl_certificate_key ${options.keyFile};
    ${mutual}
    client_max_body_size 0;
    location / {
      proxy_pass ${upstream.protocol}//${upstream.host};
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_set_header Connection "";
      proxy_request_buffering off;
      proxy_buffering off;
      proxy_read_timeout 120s;
    }
  }`;
}

export interface RunningNginx {
  port: number;
  pid: number;
  output(): string;
  stop(): Promise<void>;
}

/**
 * One foreground nginx with its own prefix, pid and temp folders in a temp dir, listening on `port`;
 * `httpBody` is what goes inside the `http {}` block (server blocks or an include). One process
 * (`master_process off`), or with `workers` a master and that many worker processes in a process
 * group of their own (pid = group id): only the master dies with the caller, so a caller that needs
 * workers (the benchmark) kills the group when it exits. Resolves once the port accepts
 * connections; the temp dir goes with stop().
 */
export async function runNginx(
  port: number,
  httpBody: (prefix: string) => Promise<string> | string,
  what = 'nginx',
  { workers }: { workers?: number } = {},
): Promise<RunningNginx> {
  const prefix = await mkdtemp(join(tmpdir(), 'nginx-test-'));
  await mkdir(join(prefix, 'tmp'), { recursive: true });
  await mkdir(join(prefix, 'logs'), { recursive: true });
  const confFile = join(prefix, 'nginx.conf');
  await writeFile(
    confFile,
    `${process.getuid?.() === 0 ? 'user root;' : ''}
${workers === undefined ? 'master_process off;' : `worker_processes ${workers};`}
pid ${join(prefix, 'nginx.pid')};
error_log stderr notice;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${join(prefix, 'tmp', 'body')};
  proxy_temp_path ${join(prefix, 'tmp', 'proxy')};
  fastcgi_temp_path ${join(prefix, 'tmp', 'fastcgi')};
  uwsgi_temp_path ${join(prefix, 'tmp', 'uwsgi')};
  scgi_temp_path ${join(prefix, 'tmp', 'scgi')};
${await httpBody(prefix)}
}
`,
  );
  // -e stderr: nginx opens its compiled-in error log before reading the configuration otherwise.
  const proc: ManagedProcess = spawnManaged(NGINX_BINARY, ['-e', 'stderr', '-p', prefix, '-c', confFile, '-g', 'daemon off;'], {
    cwd: prefix,
    processGroup: workers !== undefined,
  });
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      await stopProcess(proc, { timeoutMs: 5000 });
      await rm(prefix, { recursive: true, force: true });
    })());
  try {
    await waitFor(() => acceptsConnections(port), {
      what: `${what} listening on port ${port}`,
      timeoutMs: 10_000,
      abortIf: () => (proc.hasExited() ? `nginx exited:\n${proc.output()}` : undefined),
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, pid: proc.pid, output: () => proc.output(), stop };
}

async function startOnce(options: StartNginxOptions): Promise<TestNginx> {
  const port = await freePort();
  const nginx = await runNginx(port, () => tlsServerBlock(port, options));
  return { ...nginx, url: `https://localhost:${port}` };
}

/** Starts nginx terminating TLS in front of `upstream`; retries once on a port race. */
export async function startNginx(options: StartNginxOptions): Promise<TestNginx> {
  try {
    return await startOnce(options);
  } catch (error) {
    if (!/exited/.test((error as Error).message)) throw error;
    return startOnce(options);
  }
}
