import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { Config } from '../config/config.js';

/**
 * Keep-alive connection pool to Orthanc. Orthanc answers `Keep-Alive: timeout=1`, so idle sockets
 * are dropped well before Orthanc closes them (a reused, half-closed socket fails the request).
 * HTTPS upstreams verify Orthanc's certificate against ORTHANC_CA_FILE and may present a client
 * certificate (mutual TLS).
 */
export function createUpstreamAgent(orthanc: Config['orthanc']): http.Agent {
  const pool = { keepAlive: true, maxSockets: 256, maxFreeSockets: 64, timeout: 800, scheduling: 'lifo' as const };
  if (!orthanc.url.startsWith('https:')) return new http.Agent(pool);
  return new https.Agent({
    ...pool,
    ca: orthanc.caFile ? readFileSync(orthanc.caFile) : undefined,
    cert: orthanc.clientCertFile ? readFileSync(orthanc.clientCertFile) : undefined,
    key: orthanc.clientKeyFile ? readFileSync(orthanc.clientKeyFile) : undefined,
    rejectUnauthorized: true,
  });
}
