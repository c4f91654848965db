import type { RequestHandler } from 'express';
import { GatewayError } from '../errors.js';
import { normalizeTarget } from '../policy/normalize.js';
import { classify } from '../policy/routes.js';
import { requestState } from './locals.js';
import { splitIncludeFields } from './qido-query.js';

/**
 * First stage for every request: refuse unclean request targets, then recognise the gateway's own
 * proxied routes. Requests outside /pacs and /pacs-admin continue to the next handlers.
 */
export const classifyRequest: RequestHandler = (req, res, next) => {
  const target = normalizeTarget(req.originalUrl);
  if (!target.ok) throw new GatewayError('bad_request', `Rejected request path: ${target.reason}`);

  const classification = classify(req.method, target.segments, target.query);
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
      const state = requestState(res);
      state.route = classification.route;
      const query = classification.route.class === 'dicomweb-read' ? splitIncludeFields(target.query) : target.query;
      state.upstreamTarget = classification.route.upstreamPath + (query ? `?${query}` : '');
      return next();
    }
  }
};
