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
