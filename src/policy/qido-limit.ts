import { appended, valuesOf, without, type Query } from '../canonical/query.js';
import type { Route } from './routes.js';

/** QIDO-RS search resources: a read whose path ends in one of these is a search, anything else a retrieve. */
const SEARCH_RESOURCES = new Set(['studies', 'series', 'instances']);

/** QIDO-RS searches: `/studies`, `/series`, `/instances` and the nested searches below a study or series. */
export function isQidoSearch(route: Pick<Route, 'class' | 'upstreamPath'>): boolean {
  if (route.class !== 'dicomweb-read') return false;
  const path = route.upstreamPath;
  return SEARCH_RESOURCES.has(path.slice(path.lastIndexOf('/') + 1));
}

export type LimitClamp = { ok: true; query: Query } | { ok: false; reason: string };

const WHOLE_NUMBER = /^[0-9]+$/;

/**
 * Bounds a QIDO-RS search to `max` results: a missing `limit` becomes `max`, a larger one (or 0,
 * which Orthanc reads as "no limit") is reduced to it. Orthanc's DICOMweb plugin reads the exact
 * name `limit` and, when it is repeated, the last one, so a repeated or non-numeric `limit` is
 * refused rather than guessed at (parameter-rules.ts already refuses both). The other parameters
 * are kept as they are, in order.
 */
export function clampQidoLimit(query: Query, max: number): LimitClamp {
  const limits = valuesOf(query, 'limit');
  if (limits.length > 1) return { ok: false, reason: 'the "limit" parameter is given more than once' };
  const requested = limits[0];
  if (requested !== undefined && !WHOLE_NUMBER.test(requested)) return { ok: false, reason: 'the "limit" parameter must be a whole number' };
  const wanted = Number(requested ?? 0);
  const limit = wanted === 0 || wanted > max ? max : wanted;
  return { ok: true, query: appended(without(query, (name) => name === 'limit'), { name: 'limit', value: String(limit) }) };
}
