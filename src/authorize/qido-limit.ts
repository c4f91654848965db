import type { RequestHandler } from 'express';
import { GatewayError } from '../errors.js';
import { clampQidoLimit, isQidoSearch } from '../policy/qido-limit.js';
import { withQuery } from '../canonical/canonical-request.js';
import { classifiedRequest, requestState } from '../respond/request-state.js';

/** QIDO_MAX_LIMIT: bounds the `limit` of every QIDO-RS search forwarded to Orthanc (src/policy/qido-limit.ts). */
export function limitQidoResults(max: number): RequestHandler {
  return (_req, res, next) => {
    const state = requestState(res);
    if (!state.route || !isQidoSearch(state.route)) return next();
    const request = classifiedRequest(state);
    const clamp = clampQidoLimit(request.query, max);
    if (!clamp.ok) throw new GatewayError('bad_request', `Invalid search: ${clamp.reason}`);
    state.request = withQuery(request, clamp.query);
    next();
  };
}
