import { existsSync } from 'node:fs';
import type { RequestHandler } from 'express';
import { fileLines } from '../audit/file-lines.js';
import { toCsv, whoSaw, whoSawQuery, WhoSawQueryError } from '../audit/who-saw.js';
import { GatewayError } from '../errors.js';
import type { Query } from '../canonical/query.js';
import { classifiedRequest, requestState } from '../respond/request-state.js';

export const AUDIT_ROUTE = '/audit';
const PARAMETERS = new Set(['study', 'patient', 'user', 'from', 'to', 'format']);

/** The route's parameters: known names only, each at most once (anything ambiguous is refused). */
function parameters(query: Query): Record<string, string> {
  const found: Record<string, string> = {};
  for (const { name, value } of query) {
    if (!PARAMETERS.has(name)) throw new GatewayError('bad_request', `Unknown parameter ${name}; known: ${[...PARAMETERS].join(', ')}`);
    if (name in found) throw new GatewayError('bad_request', `Parameter ${name} given more than once`);
    found[name] = value;
  }
  if (found['format'] !== undefined && found['format'] !== 'csv' && found['format'] !== 'json') throw new GatewayError('bad_request', 'format must be json or csv');
  return found;
}

/**
 * `GET /pacs-admin/audit?study=…|patient=…|user=…[&from=…][&to=…][&format=csv]`: "who saw this
 * study?" from the local audit file. An admin route like the rest of /pacs-admin (the policy allows
 * it only for the admin role, and it is audited itself), answered by the gateway, never by Orthanc.
 */
export function answerAuditQuery(file: string | undefined): RequestHandler {
  return (req, res, next) => {
    const state = requestState(res);
    if (state.route?.prefix !== '/pacs-admin' || state.route.upstreamPath !== AUDIT_ROUTE) return next();
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new GatewayError('method_not_allowed', `Method ${req.method} is not allowed here`, { allow: 'GET, HEAD' });
    if (!file || !existsSync(file)) throw new GatewayError('not_found', 'No local audit file: set AUDIT_LOG_FILE');
    const { format, ...words } = parameters(classifiedRequest(state).query);
    let query;
    try {
      query = whoSawQuery(words);
    } catch (error) {
      if (error instanceof WhoSawQueryError) throw new GatewayError('bad_request', error.message);
      throw error;
    }
    whoSaw(fileLines(file), query).then((sightings) => {
      res.set('cache-control', 'no-store');
      if (format === 'csv') res.type('text/csv').send(toCsv(sightings));
      else res.json({ sightings });
    }, next);
  };
}
