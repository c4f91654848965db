import { makeSeries } from '../tests/support/dicom.js';
import { startOrthanc, uploadInstances, orthancFetch } from '../tests/support/orthanc.js';
const o = await startOrthanc();
try {
  const a = makeSeries({ modality: 'CT', patientName: 'A^A', patientId: 'PA', instances: 1, rows: 8, columns: 8, institutionName: 'Hospital A' });
  const [u] = await uploadInstances(o, a.files);
  const show = async (p: string, init?: RequestInit) => { const r = await orthancFetch(o, p, init); console.log(r.status, init?.method ?? 'GET', p.slice(0, 70), (await r.text()).slice(0, 200).replace(/\s+/g, ' ')); };
  await show(`/instances/${u!.ID}/pdf`);
  await show(`/instances/${u!.ID}/frames/0/matlab`);
  await show(`/instances/${u!.ID}/frames/0/image-uint8`, { headers: { accept: 'image/jp2' } });
  await show(`/instances/${u!.ID}/content/7fe0-0010/0`);
  await show('/tools/find', { method: 'POST', body: '{"Level":"Nope","Query":{}}' });
  await show('/tools/execute-script', { method: 'POST', body: 'error("boom")' });
  await show(`/instances/${u!.ID}/modify`, { method: 'POST', body: '{"Replace":{"0008,0016":"1.2"}}' });
  await show('/jobs/nonexistent/cancel', { method: 'POST', body: '' });
  await show('/tools/create-archive', { method: 'POST', body: '["nonexistent"]' });
  await show('/instances', { method: 'POST', body: 'not dicom' });
} finally { await o.stop(); }
