// Stage 1, request — enters: a raw HTTP request; leaves: a request id, observation, security headers, one canonical request with its route (classify.ts), host, body and rate limits applied; anything ambiguous refused here (400, 404, 413, 429 …).
import type { Request, RequestHandler } from 'express';
import { GatewayError } from '../errors.js';
import { normalizeTarget, type NormalizedTarget } from '../policy/normalize.js';
import { classify } from '../policy/routes.js';
import { parseCanonicalRequest, withQuery } from '../canonical/canonical-request.js';
import { parameterClass, queryProblem } from './parameter-rules.js';
import { requestState, type RequestState } from '../respond/request-state.js';
import { SMART_CONFIGURATION_PATH } from '../policy/routes.js';
import { splitIncludeFields } from './qido-query.js';

const GATEWAY_PREFIXES = new Set(['pacs', 'pacs-admin']);

/** Served by an Express route of its own (smart-configuration.ts), before classification. */
const EXPRESS_ROUTED = new Set([SMART_CONFIGURATION_PATH]);

/**
 * node:http dispatch: whether the raw request target is plainly under /pacs or /pacs-admin, for
 * the lean pipeline (app.ts), which then records it as `req.originalUrl` the way Express's router
 * would. Only a quick split: classifyRequest still judges the target. Other spellings (percent
 * encoded, `//pacs`, absolute-form) go through Express, whose pipeline refuses or serves them as before.
 */
export function isProxiedTarget(req: Request): boolean {
  const target = req.url ?? '';
  const query = target.indexOf('?');
  const path = query < 0 ? target : target.slice(0, query);
  const proxied = path.startsWith('/pacs/') || path.startsWith('/pacs-admin/') || path === '/pacs' || path === '/pacs-admin';
  if (!proxied || EXPRESS_ROUTED.has(path)) return false;
  req.originalUrl = target;
  return true;
}

/**
 * Reads the request target once (normalize.ts) into the request state, for every stage that asks
 * where a request goes: CORS (cors.ts) and classifyRequest judge the same reading. An unclean
 * target is refused by classifyRequest, not here, so the routes answered before it keep their answers.
 */
export const readRequestTarget: RequestHandler = (req, res, next) => {
  requestState(res).target = normalizeTarget(req.originalUrl);
  next();
};

/** The target read by readRequestTarget; a stage reached without one is a wiring bug, and fails closed. */
function targetOf(state: RequestState): NormalizedTarget {
  if (!state.target) throw new Error('No request target: readRequestTarget did not run');
  return state.target;
}

/**
 * Refuses unclean request targets, then, for /pacs and /pacs-admin, parses the one canonical
 * request (canonical-request.ts) every later stage reads, recognises the route and refuses a query
 * Orthanc could read differently. Other requests continue untouched.
 */
export const classifyRequest: RequestHandler = (req, res, next) => {
  const target = targetOf(requestState(res));
  if (!target.ok) throw new GatewayError('bad_request', `Rejected request path: ${target.reason}`);
  if (!GATEWAY_PREFIXES.has(target.segments[0]!)) return next();

  const parsed = parseCanonicalRequest(req.method, target.segments, target.query, req.headers);
  if (!parsed.ok) throw new GatewayError('bad_request', `Rejected request: ${parsed.reason}`);
  const { request } = parsed;
  const classification = classify(request.method, request.segments, request.query);
  switch (classification.kind) {
    case 'not-gateway':
      return next();
    case 'not-found':
      throw new GatewayError('not_found', 'No such route');
    case 'method-not-allowed':
      throw new GatewayError('method_not_allowed', `Method ${req.method} is not allowed here`, {
        allow: classification.allowed.join(', '),
      });
    case 'route': {
      const { route } = classification;
      const problem = queryProblem(request.query, parameterClass(route));
      if (problem) throw new GatewayError('bad_request', `Rejected request: ${problem}`);
      const state = requestState(res);
      state.route = route;
      state.request = route.class === 'dicomweb-read' ? withQuery(request, splitIncludeFields(request.query)) : request;
      return next();
    }
  }
};
