/**
 * The query of a request as Orthanc reads it (HttpToolbox::ParseGetArguments in Orthanc 1.10): split
 * on `&` only, name and value each URL-decoded (`+` is a space), kept in order, repeats kept. The
 * gateway parses exactly that way, but refuses whatever two readers could take differently: a `;`
 * (a separator to some servers), a malformed or non-UTF-8 escape (Orthanc decodes `%zz` into some
 * byte), and a name that is not plain text (an encoded name is one Orthanc decodes and a log does not).
 */
export interface QueryParameter {
  readonly name: string;
  readonly value: string;
}

export type Query = readonly QueryParameter[];

export type ParsedQuery = { ok: true; query: Query } | { ok: false; reason: string };

/** Letters, digits, `.`, `_` and `-`: what every name Orthanc, its plugins and OHIF use is made of. */
const PLAIN_NAME = /^[A-Za-z0-9._-]+$/;
const MALFORMED_ESCAPE = /%(?![0-9A-Fa-f]{2})/;

function decodeValue(raw: string): string | undefined {
  if (MALFORMED_ESCAPE.test(raw)) return undefined;
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return undefined; // not UTF-8 once decoded
  }
}

function parsePair(pair: string): QueryParameter | string {
  const equals = pair.indexOf('=');
  const name = equals === -1 ? pair : pair.slice(0, equals);
  const rawValue = equals === -1 ? '' : pair.slice(equals + 1);
  if (!PLAIN_NAME.test(name)) return `query parameter name ${JSON.stringify(name.slice(0, 64))} must be plain letters, digits, ".", "_" or "-" (no encoding)`;
  const value = decodeValue(rawValue);
  if (value === undefined) return `query parameter "${name}" has a malformed percent-encoding`;
  if (value.includes('\u0000')) return `query parameter "${name}" holds a NUL character`;
  return { name, value };
}

/** Parses the raw query string (without `?`). Empty pairs (`a=1&&b=2`, a trailing `&`) carry nothing and are dropped. */
export function parseQuery(raw: string): ParsedQuery {
  if (raw.includes(';')) return { ok: false, reason: '";" is not allowed in the query string' };
  const query: QueryParameter[] = [];
  for (const pair of raw.split('&')) {
    if (pair === '') continue;
    const parsed = parsePair(pair);
    if (typeof parsed === 'string') return { ok: false, reason: parsed };
    query.push(parsed);
  }
  return { ok: true, query };
}

/** The canonical encoding sent to Orthanc: names as they are (plain), values percent-encoded; no `=` for an empty value. */
export function serializeQuery(query: Query): string {
  return query.map(({ name, value }) => (value === '' ? name : `${name}=${encodeURIComponent(value)}`)).join('&');
}

/** The values of the parameter with exactly this name, in order. */
export const valuesOf = (query: Query, name: string): string[] => query.filter((parameter) => parameter.name === name).map(({ value }) => value);

/** The value of a parameter given exactly once; undefined when it is absent or repeated. */
export function onlyValue(query: Query, name: string): string | undefined {
  const values = valuesOf(query, name);
  return values.length === 1 ? values[0] : undefined;
}

/** The query without the parameters `drop` selects. */
export const without = (query: Query, drop: (name: string) => boolean): Query => query.filter(({ name }) => !drop(name));

/** The query with `parameters` appended at the end. */
export const appended = (query: Query, ...parameters: QueryParameter[]): Query => [...query, ...parameters];
