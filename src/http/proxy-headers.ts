import type { ClientRequest, IncomingHttpHeaders } from 'node:http';

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

export function prepareUpstreamRequest(proxyReq: ClientRequest, identity: UpstreamIdentity): void {
  for (const name of proxyReq.getHeaderNames()) {
    if (!FORWARDED_REQUEST_HEADERS.has(name)) proxyReq.removeHeader(name);
  }
  proxyReq.setHeader('authorization', identity.authorization);
  proxyReq.setHeader('forwarded', identity.forwarded);
  // setHeader replaces every client copy of the name (any case, repeated or not) with the gateway's value.
  for (const [name, value] of Object.entries(identity.identityHeaders ?? {})) proxyReq.setHeader(name, value);
}

export function clientResponseHeaders(upstream: IncomingHttpHeaders, { bodyRewritten }: { bodyRewritten: boolean }) {
  const kept: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(upstream)) {
    if (value === undefined || DROPPED_RESPONSE_HEADERS.has(name)) continue;
    if (bodyRewritten && name === 'content-length') continue;
    kept[name] = value;
  }
  return kept;
}
