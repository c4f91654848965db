import { normalizeTarget } from '../../src/policy/normalize.js';
import { classify, type Route } from '../../src/policy/routes.js';

/** The route the gateway's classify stage finds for a request target; throws for anything that is not one. */
export function routeFor(method: string, target: string): Route {
  const normalized = normalizeTarget(target);
  if (!normalized.ok) throw new Error(normalized.reason);
  const classification = classify(method, normalized.segments, normalized.query);
  if (classification.kind !== 'route') throw new Error(`${target} is not a route`);
  return classification.route;
}
