import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DOCKER_DIR } from './docker-stack.js';
import { freePort } from './free-port.js';
import { NGINX_BINARY } from './nginx.js';
import { spawnManaged, stopProcess, waitFor, type ManagedProcess } from './process.js';

export const REPLICAS_NGINX_CONF = join(DOCKER_DIR, 'nginx-replicas.conf');

/**
 * docker/nginx-replicas.conf (the load balancer of docker-compose.replicas.yml) run by Debian's nginx
 * on loopback: the same server block, with Docker's DNS name `gateway` replaced by the given
 * loopback replicas and the listen address by a free loopback port. One foreground process
 * (`master_process off`), killed with the test process.
 */
export interface TestLoadBalancer {
  url: string;
  port: number;
  output(): string;
  stop(): Promise<void>;
}

/** The compose file's nginx configuration, pointed at loopback replicas (Debian's nginx 1.22 has no `resolve`). */
export function adaptReplicasConf(conf: string, port: number, replicas: string[]): string {
  const upstream = /^([ \t]*)server gateway:\d+ resolve ([^;]*);$/m;
  const match = upstream.exec(conf);
  if (!match) throw new Error('nginx-replicas.conf: no `server gateway:<port> resolve …;` line in the upstream block');
  const servers = replicas.map((replica) => `${match[1]}server ${new URL(replica).host} ${match[2]};`).join('\n');
  const adapted = conf
    .replace(upstream, servers)
    .replace(/^[ \t]*resolver [^;]*;$/m, '')
    .replace(/^([ \t]*)listen 8080;$/m, `$1listen 127.0.0.1:${port};`);
  if (!adapted.includes(`listen 127.0.0.1:${port};`)) throw new Error('nginx-replicas.conf: no `listen 8080;` line');
  return adapted;
}

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

export async function startLoadBalancer(replicas: string[], port?: number): Promise<TestLoadBalancer> {
  const prefix = await mkdtemp(join(tmpdir(), 'nginx-lb-test-'));
  await mkdir(join(prefix, 'tmp'), { recursive: true });
  const listenPort = port ?? (await freePort());
  const serverConf = join(prefix, 'replicas.conf');
  await writeFile(serverConf, adaptReplicasConf(await readFile(REPLICAS_NGINX_CONF, 'utf8'), listenPort, replicas));
  const mainConf = join(prefix, 'nginx.conf');
  await writeFile(
    mainConf,
    `${process.getuid?.() === 0 ? 'user root;' : ''}
master_process off;
pid ${join(prefix, 'nginx.pid')};
error_log stderr warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${join(prefix, 'tmp', 'body')};
  proxy_temp_path ${join(prefix, 'tmp', 'proxy')};
  fastcgi_temp_path ${join(prefix, 'tmp', 'fastcgi')};
  uwsgi_temp_path ${join(prefix, 'tmp', 'uwsgi')};
  scgi_temp_path ${join(prefix, 'tmp', 'scgi')};
  include ${serverConf};
}
`,
  );
  const proc: ManagedProcess = spawnManaged(NGINX_BINARY, ['-e', 'stderr', '-p', prefix, '-c', mainConf, '-g', 'daemon off;'], { cwd: prefix });
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      await stopProcess(proc, { timeoutMs: 5000 });
      await rm(prefix, { recursive: true, force: true });
    })());
  try {
    await waitFor(() => accepts(listenPort), {
      what: `nginx (load balancer) listening on port ${listenPort}`,
      timeoutMs: 10_000,
      abortIf: () => (proc.hasExited() ? `nginx exited:\n${proc.output()}` : undefined),
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `http://127.0.0.1:${listenPort}`, port: listenPort, output: () => proc.output(), stop };
}
