import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DOCKER_DIR } from './docker-stack.js';
import { freePort } from './free-port.js';
import { runNginx } from './nginx.js';

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

export async function startLoadBalancer(replicas: string[], port?: number): Promise<TestLoadBalancer> {
  const listenPort = port ?? (await freePort());
  const conf = adaptReplicasConf(await readFile(REPLICAS_NGINX_CONF, 'utf8'), listenPort, replicas);
  const nginx = await runNginx(
    listenPort,
    async (prefix) => {
      const serverConf = join(prefix, 'replicas.conf');
      await writeFile(serverConf, conf);
      return `  include ${serverConf};`;
    },
    'nginx (load balancer)',
  );
  return { url: `http://127.0.0.1:${listenPort}`, port: listenPort, output: nginx.output, stop: nginx.stop };
}
