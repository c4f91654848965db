import { randomInt } from 'node:crypto';
import { makeSeries } from '../../tests/support/dicom.js';

/**
 * Benchmark studies: uncompressed 512×512 16-bit CT images (≈ 513 KB each) generated with dcmjs.
 * One instance per series is generated for real; the others are copies with their own SOP Instance
 * UID written over the template's (same length, so every offset stays valid): generating 850 full
 * images takes ~25 s, copying takes milliseconds. Orthanc stores each copy as its own instance.
 */
export interface BenchSeries {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUids: string[];
  files: Buffer[];
  bytes: number;
}

/** A random UID of exactly `length` characters under the 2.25 root (no leading zero). */
function uidOfLength(length: number): string {
  let digits = String(randomInt(1, 10));
  while (digits.length < length - 5) digits += String(randomInt(0, 10));
  return `2.25.${digits}`;
}

function replaceAll(buffer: Buffer, from: Buffer, to: Buffer): number {
  let count = 0;
  for (let at = buffer.indexOf(from); at >= 0; at = buffer.indexOf(from, at + from.length)) {
    to.copy(buffer, at);
    count++;
  }
  return count;
}

export function makeBenchSeries(instances: number, { patientId, description, size = 512 }: { patientId: string; description: string; size?: number }): BenchSeries {
  const template = makeSeries({
    modality: 'CT',
    patientName: `Bench^${description}`,
    patientId,
    studyDescription: `benchmark ${description}`,
    instances: 1,
    rows: size,
    columns: size,
  });
  const templateUid = template.sopInstanceUids[0]!;
  const templateFile = Buffer.from(template.files[0]!);
  const files: Buffer[] = [];
  const sopInstanceUids: string[] = [];
  for (let index = 0; index < instances; index++) {
    const uid = uidOfLength(templateUid.length);
    const file = Buffer.from(templateFile);
    if (replaceAll(file, Buffer.from(templateUid, 'latin1'), Buffer.from(uid, 'latin1')) < 2) throw new Error('SOP Instance UID not found in the template');
    files.push(file);
    sopInstanceUids.push(uid);
  }
  return {
    studyInstanceUid: template.studyInstanceUid,
    seriesInstanceUid: template.seriesInstanceUid,
    sopInstanceUids,
    files,
    bytes: files.reduce((sum, file) => sum + file.length, 0),
  };
}
