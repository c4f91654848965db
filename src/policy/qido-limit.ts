import type { Route } from './routes.js';

/** QIDO-RS search resources: a read whose path ends in one of these is a search, anything else a retrieve. */
const SEARCH_RESOURCES = new Set(['studies', 'series', 'instances']);

/** QIDO-RS searches: `/studies`, `/series`, `/instances` and the nested searches below a study or series. */
export function isQidoSearch(route: Pick<Route, 'class' | 'upstreamPath'>): boolean {
  return route.class === 'dicomweb-read' && SEARCH_RESOURCES.has(route.upstreamPath.split('/').pop() ?? '');
}

export type LimitClamp = { ok: true; query: string } | { ok: false; reason: string };

const WHOLE_NUMBER = /^[0-9]+$/;

/** A query parameter's name or value as the server decodes it (`+` is a space); undecodable text stays as sent. */
function decoded(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

const nameOf = (pair: string) => decoded(pair.split('=', 1)[0]!);
const valueOf = (pair: string) => (pair.includes('=') ? decoded(pair.slice(pair.indexOf('=') + 1)) : '');

/**
 * Bounds a QIDO-RS search to `max` results: a missing `limit` becomes `max`, a larger one (or 0,
 * which Orthanc reads as "no limit") is reduced to it. Orthanc's DICOMweb plugin reads the exact
 * name `limit` and, when it is repeated, the last one, so a repeated or non-numeric `limit` is
 * refused rather than guessed at. The other parameters are kept byte for byte.
 */
export function clampQidoLimit(query: string, max: number): LimitClamp {
  const pairs = query.split('&').filter(Boolean);
  const limits = pairs.filter((pair) => nameOf(pair) === 'limit');
  if (limits.length > 1) return { ok: false, reason: 'the "limit" parameter is given more than once' };
  const requested = limits[0] === undefined ? undefined : valueOf(limits[0]);
  if (requested !== undefined && !WHOLE_NUMBER.test(requested)) return { ok: false, reason: 'the "limit" parameter must be a whole number' };
  const wanted = Number(requested ?? 0);
  const limit = wanted === 0 || wanted > max ? max : wanted;
  return { ok: true, query: [...pairs.filter((pair) => nameOf(pair) !== 'limit'), `limit=${limit}`].join('&') };
}
