import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/**
 * Only these client headers reach Orthanc. Everything else, in particular Authorization, Cookie,
 * Forwarded/X-Forwarded-*, identity headers a client might try (X-Remote-User, X-Forwarded-User…),
 * method overrides and hop-by-hop headers, is dropped: an allowlist cannot forget a new attack header.
 */
const FORWARDED_REQUEST_HEADERS = new Set([
  'accept',
  'accept-language',
  'cache-control',
  'content-length',
  'content-type',
  'host',
  'if-match',
  'if-modified-since',
  'if-none-match',
  'if-range',
  'if-unmodified-since',
  'range',
  'transfer-encoding',
  'user-agent',
]);

/** Headers from Orthanc that never reach the client: its Basic challenge, its cookies, hop-by-hop. */
const DROPPED_RESPONSE_HEADERS = new Set([
  'www-authenticate',
  'set-cookie',
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

export interface UpstreamIdentity {
  authorization: string;
  /** RFC 7239 `Forwarded` value naming the public host and scheme, so Orthanc writes public URLs. */
  forwarded: string;
  /** Gateway-computed identity headers (FORWARD_IDENTITY_HEADERS), already safe header values. */
  identityHeaders?: Readonly<Record<string, string>>;
}

/**
 * The headers of the request to Orthanc: the allowed client headers (node:http's lower-case names,
 * repeats already joined), `Host` naming Orthanc, then the gateway's own, which replace any client
 * value of the same name.
 */
export function upstreamRequestHeaders(client: IncomingHttpHeaders, host: string, identity: UpstreamIdentity): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {};
  for (const name in client) {
    if (FORWARDED_REQUEST_HEADERS.has(name)) headers[name] = client[name];
  }
  headers['host'] = host;
  headers['authorization'] = identity.authorization;
  headers['forwarded'] = identity.forwarded;
  const extra = identity.identityHeaders;
  if (extra) for (const name in extra) headers[name.toLowerCase()] = extra[name];
  return headers;
}

export function clientResponseHeaders(upstream: IncomingHttpHeaders, { bodyRewritten }: { bodyRewritten: boolean }) {
  const kept: Record<string, string | string[]> = {};
  for (const name in upstream) {
    const value = upstream[name];
    if (value === undefined || DROPPED_RESPONSE_HEADERS.has(name)) continue;
    if (bodyRewritten && name === 'content-length') continue;
    kept[name] = value;
  }
  return kept;
}
