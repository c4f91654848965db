import { GatewayError } from '../errors.js';
import { appended, valuesOf, without, type Query } from '../canonical/query.js';

/**
 * OHIF sends `includefield=00081030,00080060`; Orthanc's DICOMweb plugin (1.7) only understands one
 * field per parameter and ignores a comma list, so study descriptions come back empty. The list is
 * forwarded as repeated parameters, which every QIDO-RS server accepts.
 */
export function splitIncludeFields(query: Query): Query {
  return query.flatMap((parameter) =>
    parameter.name === 'includefield' && parameter.value.includes(',')
      ? parameter.value.split(',').map((field) => field.trim()).filter(Boolean).map((value) => ({ name: parameter.name, value }))
      : [parameter],
  );
}

export interface FilteredSearchQuery {
  /** The query to send upstream: no paging, the judged attribute included. */
  query: Query;
  offset: number;
  limit: number | undefined;
}

const PAGING = new Set(['limit', 'offset']);
const PATIENT_ID_TAG = '00100020';

/** parameter-rules.ts has already refused a repeated or non-numeric limit/offset; this only reads it. */
function pagingValue(query: Query, name: string): number | undefined {
  const values = valuesOf(query, name);
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
export function filteredSearchQuery(query: Query, tag: string, prefix?: string): FilteredSearchQuery {
  const offset = pagingValue(query, 'offset') ?? 0;
  const limit = pagingValue(query, 'limit') || undefined;
  const output = appended(
    without(query, (name) => PAGING.has(name)),
    { name: 'includefield', value: tag },
  );
  const filtersOnPatientId = output.some(({ name }) => name === 'PatientID' || name.toUpperCase() === PATIENT_ID_TAG);
  const narrowed = prefix && !filtersOnPatientId && !/[*?\\]/.test(prefix) ? appended(output, { name: 'PatientID', value: `${prefix}*` }) : output;
  return { query: narrowed, offset, limit };
}
