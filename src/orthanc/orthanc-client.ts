// Shared leaf, orthanc: the gateway's own small requests to Orthanc (readiness, start-up checks, look-ups).
import http from 'node:http';
import https from 'node:https';
import type { Config } from '../config/config.js';

export interface OrthancAnswer {
  status: number;
  body: string;
}

/**
 * Small requests the gateway itself makes to Orthanc (readiness, start-up checks), over the same
 * connection pool, TLS settings and service credential as the proxy.
 */
export function createOrthancClient(orthanc: Config['orthanc'], agent: http.Agent) {
  const authorization = `Basic ${Buffer.from(`${orthanc.username}:${orthanc.password}`).toString('base64')}`;
  const transport = orthanc.url.startsWith('https:') ? https : http;

  function request(method: 'GET' | 'POST', path: string, body: string | undefined, { withCredential = true, timeoutMs = 3000 } = {}): Promise<OrthancAnswer> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = withCredential ? { authorization } : {};
      if (body !== undefined) headers['content-type'] = 'text/plain';
      const req = transport.request(`${orthanc.url}${path}`, { method, agent, headers, timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`Orthanc did not answer ${path} within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  return {
    get: (path: string, options?: { withCredential?: boolean; timeoutMs?: number }) => request('GET', path, undefined, options),
    /** A POST with a small text body (e.g. /tools/lookup), with the service credential. */
    post: (path: string, body: string, options?: { timeoutMs?: number }) => request('POST', path, body, options),
  };
}

export type OrthancClient = ReturnType<typeof createOrthancClient>;
