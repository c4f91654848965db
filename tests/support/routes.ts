import { normalizeTarget } from '../../src/policy/normalize.js';
import { classify, type Route } from '../../src/policy/routes.js';
import { parseQuery, serializeQuery, type Query } from '../../src/canonical/query.js';

/** A raw query string as the canonical request holds it; throws when the parser refuses it. */
export function queryOf(raw: string): Query {
  const parsed = parseQuery(raw);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.query;
}

/** The canonical query, serialized as the gateway sends it to Orthanc. */
export const serialized = (query: Query) => serializeQuery(query);

/** The route the gateway's classify stage finds for a request target; throws for anything that is not one. */
export function routeFor(method: string, target: string): Route {
  const normalized = normalizeTarget(target);
  if (!normalized.ok) throw new Error(normalized.reason);
  const classification = classify(method, normalized.segments, queryOf(normalized.query));
  if (classification.kind !== 'route') throw new Error(`${target} is not a route`);
  return classification.route;
}
