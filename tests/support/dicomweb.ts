/** Small DICOMweb client helpers for tests (request shapes as OHIF and scripts send them). */

export const ACCEPT_DICOM_JSON = 'application/dicom+json';
export const ACCEPT_FRAMES = 'multipart/related; type="application/octet-stream"; transfer-syntax=*';

/** A STOW-RS request body: one multipart/related part per DICOM file. */
export function stowBody(files: readonly Uint8Array[], boundary = `stow-${Date.now()}`) {
  const parts: Buffer[] = [];
  for (const file of files) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), Buffer.from(file), Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), contentType: `multipart/related; type="application/dicom"; boundary=${boundary}` };
}

/** Values of a DICOM JSON attribute (e.g. '0020000D') across a QIDO result list. */
export function tagValues(results: unknown, tag: string): unknown[] {
  return (results as Array<Record<string, { Value?: unknown[] }>>).flatMap((item) => item[tag]?.Value ?? []);
}
