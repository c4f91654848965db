import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { createComponents } from './components.js';
import type { Config } from './config/config.js';
import { loadTlsMaterial, type TlsMaterial } from './config/tls-files.js';
import type { Express } from 'express';
import { createApp } from './app.js';
import { expressServerObjects } from './express-objects.js';
import type { Logger } from './observability/logger.js';
import { runStartupDoctor } from './startup/doctor.js';

export interface RunningGateway {
  server: http.Server;
  /** Base URL the gateway listens on (loopback), useful in tests. */
  url: string;
  /**
   * Graceful stop: refuses new connections at once, lets in-flight requests finish (their
   * connections close after the response), then releases Redis and the upstream pool. Requests
   * still running after `graceMs` are cut.
   */
  close(graceMs?: number): Promise<void>;
}

export interface StartOptions {
  /** Run the start-up doctor (src/startup/doctor.ts) before listening; main.ts does. */
  startupChecks?: boolean;
}

/**
 * Slow or idle clients must not hold sockets forever: the headers must arrive within 20 s and the
 * whole request, body included, within REQUEST_TIMEOUT_SECONDS (uploads get minutes; responses,
 * i.e. downloads, are not limited by it). Node enforces both in a periodic sweep, here every 5 s.
 * They must be given at construction: Node ignores requestTimeout set afterwards.
 */
function serverOptions(config: Config): http.ServerOptions {
  const requestTimeout = config.requestTimeoutSeconds * 1000;
  return { requestTimeout, headersTimeout: Math.min(20_000, requestTimeout), connectionsCheckingInterval: 5_000, keepAliveTimeout: 5_000 };
}

function createServer(config: Config, tls: TlsMaterial['server'], app: Express, listener: http.RequestListener): http.Server {
  const options = { ...serverOptions(config), ...expressServerObjects(app) };
  if (!tls) return http.createServer(options, listener);
  return https.createServer({ ...options, cert: tls.cert, key: tls.key }, listener);
}

/**
 * Builds the gateway from a validated config and listens on `config.port` (0 picks a free port).
 * Throws ConfigError when a TLS file is unusable and StartupCheckError when a start-up check fails.
 */
export async function startGateway(config: Config, logger: Logger, host?: string, options: StartOptions = {}): Promise<RunningGateway> {
  const tls = loadTlsMaterial(config);
  for (const warning of tls.warnings) logger.warn(warning);
  if (options.startupChecks) await runStartupDoctor(config, logger);

  const components = await createComponents(config, logger);
  await components.ready();
  const { app, listener } = createApp(components.app);

  // Draining: responses in flight when close() starts, and any request still arriving on an open
  // keep-alive connection, answer with `Connection: close`, so each connection ends with its response.
  let draining = false;
  const inFlight = new Set<http.ServerResponse>();
  // One listener for every response ('close' comes once): nothing allocated per request for it.
  function onResponseClose(this: http.ServerResponse): void {
    inFlight.delete(this);
    if (draining) setImmediate(() => server.closeIdleConnections());
  }
  const server = createServer(config, tls.server, app, (req, res) => {
    if (draining) res.setHeader('connection', 'close');
    inFlight.add(res);
    res.on('close', onResponseClose);
    listener(req, res);
  });
  // A connection with no traffic in either direction for two minutes is closed.
  server.timeout = 120_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `${tls.server ? 'https' : 'http'}://127.0.0.1:${port}`;
  logger.info({ port, tls: Boolean(tls.server), publicUrl: config.publicUrl, orthanc: config.orthanc.url, issuer: config.oidc.issuer }, 'gateway listening');

  let closing: Promise<void> | undefined;
  return {
    server,
    url,
    close: (graceMs = 10_000) =>
      (closing ??= new Promise<void>((resolve) => {
        draining = true;
        for (const res of inFlight) if (!res.headersSent) res.setHeader('connection', 'close');
        const force = setTimeout(() => {
          if (inFlight.size > 0) logger.warn({ requests: inFlight.size }, `shutdown: cutting requests still running after ${graceMs} ms`);
          server.closeAllConnections();
        }, graceMs);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          void components.close().then(resolve);
        });
        server.closeIdleConnections();
      })),
  };
}
