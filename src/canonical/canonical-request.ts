// Shared leaf, canonical: the one parsed reading of a proxied request (query.ts, canonical-request.ts); pure.
import type { IncomingHttpHeaders } from 'node:http';
import type { Route } from '../policy/routes.js';
import { parseQuery, serializeQuery, type Query } from './query.js';

/**
 * The one reading of a proxied request that every stage uses: classification, policy, share-link
 * scope, QIDO limit, per-study search, audit and the proxy. It is parsed once, by the rules of
 * query.ts and parameter-rules.ts; the request to Orthanc is serialized from it (upstreamTarget),
 * never from the URL the client sent. Stages that change the search replace it with `withQuery`.
 */
export interface CanonicalRequest {
  /** The client's method; a request that asks Orthanc for another one is refused before this exists. */
  readonly method: string;
  /** Decoded path segments, as normalize.ts accepted them. */
  readonly segments: readonly string[];
  readonly query: Query;
  /** Whether the request has a body: a Transfer-Encoding, or a Content-Length other than 0 (node:http's parser frames the body by these two alone). */
  readonly hasBody: boolean;
}

/** Method-override headers (Orthanc 1.10 honours X-HTTP-Method-Override on any method; the others are refused alike). */
const METHOD_OVERRIDE_HEADERS = ['x-http-method-override', 'x-http-method', 'x-method-override'];

const declaresBody = (headers: IncomingHttpHeaders) => headers['transfer-encoding'] !== undefined || (headers['content-length'] ?? '0') !== '0';

export type CanonicalParse = { ok: true; request: CanonicalRequest } | { ok: false; reason: string };

export function parseCanonicalRequest(method: string, segments: readonly string[], rawQuery: string, headers: IncomingHttpHeaders): CanonicalParse {
  const override = METHOD_OVERRIDE_HEADERS.find((name) => headers[name] !== undefined);
  if (override) return { ok: false, reason: `the ${override} header (a method override) is not accepted` };
  const parsed = parseQuery(rawQuery);
  if (!parsed.ok) return parsed;
  return { ok: true, request: { method, segments, query: parsed.query, hasBody: declaresBody(headers) } };
}

export const withQuery = (request: CanonicalRequest, query: Query): CanonicalRequest => ({ ...request, query });

/** Path and query to request from Orthanc: the route's canonical upstream path and the canonical query. */
export function upstreamTarget(route: Pick<Route, 'upstreamPath'>, request: CanonicalRequest): string {
  const query = serializeQuery(request.query);
  return query ? `${route.upstreamPath}?${query}` : route.upstreamPath;
}
