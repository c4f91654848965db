import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { createComponents } from './components.js';
import type { Config } from './config/config.js';
import { createApp } from './http/app.js';
import type { Logger } from './observability/logger.js';

export interface RunningGateway {
  server: http.Server;
  /** Base URL the gateway listens on (loopback), useful in tests. */
  url: string;
  /** Stops accepting connections and waits for in-flight requests, up to `graceMs`. */
  close(graceMs?: number): Promise<void>;
}

function createServer(config: Config, app: http.RequestListener): http.Server {
  if (!config.tls) return http.createServer(app);
  return https.createServer({ cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile) }, app);
}

/** Builds the gateway from a validated config and listens on `config.port` (0 picks a free port). */
export async function startGateway(config: Config, logger: Logger, host?: string): Promise<RunningGateway> {
  const components = createComponents(config, logger);
  await components.ready();
  const server = createServer(config, createApp(components.app));
  // Slow or idle clients must not hold sockets forever.
  server.headersTimeout = 20_000;
  server.requestTimeout = 0; // large STOW uploads and WADO downloads may legitimately take long
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `${config.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  logger.info({ port, publicUrl: config.publicUrl, orthanc: config.orthanc.url, issuer: config.oidc.issuer }, 'gateway listening');

  return {
    server,
    url,
    close: (graceMs = 10_000) =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => server.closeAllConnections(), graceMs);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          void components.close().then(resolve);
        });
        server.closeIdleConnections();
      }),
  };
}
