import { makeSeries } from '../../tests/support/dicom.js';
import { orthancFetch, uploadInstances, type TestOrthanc } from '../../tests/support/orthanc.js';

/**
 * Sample patients of the dev stack; generated once, kept in the dev data folder. Their institutions
 * are the realm's groups, so per-study access by `groups` shows each to one dev user (README).
 */
const SAMPLES = [
  { modality: 'CT', patientName: 'Sample^CT', patientId: 'DEV-CT-1', studyDescription: 'Sample CT chest', institutionName: 'Hospital A', instances: 24, rows: 256, columns: 256 },
  { modality: 'MR', patientName: 'Sample^MR', patientId: 'DEV-MR-1', studyDescription: 'Sample MR head', institutionName: 'Hospital B', instances: 16, rows: 256, columns: 256 },
] as const;

async function hasPatient(orthanc: TestOrthanc, patientId: string): Promise<boolean> {
  const response = await orthancFetch(orthanc, '/tools/find', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ Level: 'Patient', Query: { PatientID: patientId } }),
  });
  if (!response.ok) throw new Error(`Orthanc /tools/find answered HTTP ${response.status}`);
  return ((await response.json()) as unknown[]).length > 0;
}

/** Uploads the sample studies that are missing; returns how many instances were added. */
export async function loadSampleStudies(orthanc: TestOrthanc): Promise<{ added: number }> {
  let added = 0;
  for (const sample of SAMPLES) {
    if (await hasPatient(orthanc, sample.patientId)) continue;
    const series = makeSeries(sample);
    added += (await uploadInstances(orthanc, series.files)).length;
  }
  return { added };
}
