import { makeSeries, makeUid } from '../tests/support/dicom.js';
import { startOrthanc, uploadInstances, orthancFetch } from '../tests/support/orthanc.js';
const o = await startOrthanc();
try {
  const study = makeUid();
  const a = makeSeries({ modality: 'CT', patientName: 'A^A', patientId: 'PA', studyInstanceUid: study, instances: 2, rows: 8, columns: 8, institutionName: 'Hospital A' });
  const b = makeSeries({ modality: 'CT', patientName: 'A^A', patientId: 'PA', studyInstanceUid: study, instances: 1, rows: 8, columns: 8, institutionName: 'Hospital B' });
  const c = makeSeries({ modality: 'CT', patientName: 'C^C', patientId: 'PC', studyInstanceUid: study, instances: 1, rows: 8, columns: 8, institutionName: 'Hospital A' });
  const up = await uploadInstances(o, [...a.files, ...b.files, ...c.files]);
  console.log(JSON.stringify(up.map(u=>u.ParentStudy)));
  const show = async (p: string, init?: RequestInit) => { const r = await orthancFetch(o, p, init); console.log(r.status, p.slice(0, 70), (await r.text()).slice(0, 600).replace(/\s+/g, ' ')); };
  await show('/tools/lookup', { method: 'POST', body: study });
  await show(`/studies/${up[0]!.ParentStudy}/shared-tags?short`);
  await show(`/studies/${up[3]!.ParentStudy}/shared-tags?short`);
  await show(`/studies/${up[0]!.ParentStudy}/instances-tags?short`);
  await show(`/studies/${up[0]!.ParentStudy}`);
  await show(`/dicom-web/studies?StudyInstanceUID=${study}&includefield=00080080`);
  await show(`/dicom-web/series?StudyInstanceUID=${study}&includefield=00080080`);
  await show(`/instances/${up[0]!.ID}/study`);
} finally { await o.stop(); }
