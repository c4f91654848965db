import { GatewayError } from '../errors.js';

/**
 * OHIF sends `includefield=00081030,00080060`; Orthanc's DICOMweb plugin (1.7) only understands one
 * field per parameter and ignores a comma list, so study descriptions come back empty. The list is
 * forwarded as repeated parameters, which every QIDO-RS server accepts.
 */
export function splitIncludeFields(query: string): string {
  if (!/includefield=[^&]*(,|%2C)/i.test(query)) return query;
  const input = new URLSearchParams(query);
  const output = new URLSearchParams();
  for (const [name, value] of input) {
    if (name.toLowerCase() !== 'includefield') output.append(name, value);
    else for (const field of value.split(',').map((item) => item.trim()).filter(Boolean)) output.append(name, field);
  }
  return output.toString();
}

export interface FilteredSearchQuery {
  /** The query to send upstream: no paging, the judged attribute included. */
  query: string;
  offset: number;
  limit: number | undefined;
}

const PAGING = new Set(['limit', 'offset']);
const PATIENT_ID_TAG = '00100020';

function pagingValue(parameters: URLSearchParams, name: string): number | undefined {
  const values = [...parameters].filter(([key]) => key.toLowerCase() === name).map(([, value]) => value);
  if (values.length === 0) return undefined;
  if (values.length > 1 || !/^\d{1,9}$/.test(values[0]!)) throw new GatewayError('bad_request', `${name} must be one non-negative integer`);
  return Number(values[0]);
}

/**
 * A search whose results the gateway filters: the client's limit/offset are taken out (they apply
 * to the filtered list, so the gateway pages), and `includefield` asks for the judged attribute.
 * `prefix` (a single PatientID prefix) narrows the search upstream too, unless the client filters
 * on PatientID itself or the prefix holds wildcards; the gateway's filter stays the guarantee.
 * `limit=0` means no limit, as for Orthanc.
 */
export function filteredSearchQuery(query: string, tag: string, prefix?: string): FilteredSearchQuery {
  const input = new URLSearchParams(query);
  const offset = pagingValue(input, 'offset') ?? 0;
  const limit = pagingValue(input, 'limit') || undefined;
  const output = new URLSearchParams([...input].filter(([name]) => !PAGING.has(name.toLowerCase())));
  output.append('includefield', tag);
  const filtersOnPatientId = [...output.keys()].some((name) => name === 'PatientID' || name.toUpperCase() === PATIENT_ID_TAG);
  if (prefix && !filtersOnPatientId && !/[*?\\]/.test(prefix)) output.append('PatientID', `${prefix}*`);
  return { query: output.toString(), offset, limit };
}
