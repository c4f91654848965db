import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import type { Config } from '../config/config.js';

/** Longest time a pooled connection to Orthanc stays idle before the gateway closes it. */
export const MAX_IDLE_MS = 800;
/** Close an idle connection this long before the server's announced keep-alive timeout. */
export const IDLE_SAFETY_MARGIN_MS = 200;

/**
 * How long a connection may idle in the pool, given the server's `Keep-Alive: timeout=<s>` hint:
 * at most `maxIdleMs`, and IDLE_SAFETY_MARGIN_MS before the server closes it. 0: do not keep it.
 */
export function pooledIdleMs(keepAliveHeader: string | undefined, maxIdleMs = MAX_IDLE_MS): number {
  const hint = /(?:^|[\s,])timeout=(\d+)/i.exec(keepAliveHeader ?? '')?.[1];
  if (hint === undefined) return maxIdleMs;
  return Math.max(0, Math.min(maxIdleMs, Number(hint) * 1000 - IDLE_SAFETY_MARGIN_MS));
}

type TcpSocket = Duplex & { setKeepAlive(enable: boolean, delay: number): void; setTimeout(ms: number): void; unref(): void };

/**
 * Node's own agent keeps a 1 s margin below the server's keep-alive hint, so with Orthanc's
 * `Keep-Alive: timeout=1` it never reuses a connection: every proxied request would open a new TCP
 * connection (and Orthanc a new thread for it). These agents keep the connection and close it
 * themselves after `pooledIdleMs` of idleness (800 ms for Orthanc): reuse within the keep-alive
 * window, never a socket the server is about to close.
 */
function keepSocketAlive(socket: Duplex, keepAliveMsecs: number): boolean {
  // The response that just finished on this socket (what Node's own implementation reads too).
  const response = (socket as Duplex & { _httpMessage?: { res?: http.IncomingMessage } })._httpMessage?.res;
  const hint = response?.headers['keep-alive'];
  const idleMs = pooledIdleMs(Array.isArray(hint) ? hint[0] : hint);
  if (idleMs <= 0) return false;
  const tcp = socket as TcpSocket;
  tcp.setKeepAlive(true, keepAliveMsecs);
  tcp.unref();
  tcp.setTimeout(idleMs); // the agent destroys a free socket on 'timeout'
  return true;
}

class KeepAliveHttpAgent extends http.Agent {
  override keepSocketAlive(socket: Duplex): boolean {
    return keepSocketAlive(socket, (this as unknown as { keepAliveMsecs: number }).keepAliveMsecs);
  }
}

class KeepAliveHttpsAgent extends https.Agent {
  override keepSocketAlive(socket: Duplex): boolean {
    return keepSocketAlive(socket, (this as unknown as { keepAliveMsecs: number }).keepAliveMsecs);
  }
}

function tlsOptions(orthanc: Config['orthanc']): https.AgentOptions {
  return {
    ca: orthanc.caFile ? readFileSync(orthanc.caFile) : undefined,
    cert: orthanc.clientCertFile ? readFileSync(orthanc.clientCertFile) : undefined,
    key: orthanc.clientKeyFile ? readFileSync(orthanc.clientKeyFile) : undefined,
    rejectUnauthorized: true,
  };
}

/**
 * Keep-alive connection pool to Orthanc (see keepSocketAlive). HTTPS upstreams verify Orthanc's
 * certificate against ORTHANC_CA_FILE and may present a client certificate (mutual TLS).
 */
export function createUpstreamAgent(orthanc: Config['orthanc']): http.Agent {
  // No agent-level `timeout`: keepSocketAlive times free sockets out itself, and Node would give
  // the pool's idle time to every new connection (and its 'timeout' events to every request) that
  // does not bring its own timeout.
  const pool = { keepAlive: true, maxSockets: 256, maxFreeSockets: 64, scheduling: 'lifo' as const };
  if (!orthanc.url.startsWith('https:')) return new KeepAliveHttpAgent(pool);
  return new KeepAliveHttpsAgent({ ...pool, ...tlsOptions(orthanc) });
}

/** A new connection for every request, closed after its response (the retry in upstream-retry.ts). */
export function createUnpooledUpstreamAgent(orthanc: Config['orthanc']): http.Agent {
  if (!orthanc.url.startsWith('https:')) return new http.Agent({ keepAlive: false });
  return new https.Agent({ keepAlive: false, ...tlsOptions(orthanc) });
}
