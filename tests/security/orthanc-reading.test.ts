import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { makeSeries, type GeneratedSeries } from '../support/dicom.js';
import { tagValues } from '../support/dicomweb.js';
import { orthancBasicAuth, orthancFetch, startOrthanc, uploadInstances, type TestOrthanc } from '../support/orthanc.js';
import { readAsOrthanc, type Catalogue, type OrthancReading } from '../support/orthanc-reading.js';
import { rawRequest } from '../support/raw-http.js';
import { startRecordingProxy, type RecordingProxy } from '../support/recording-proxy.js';

/**
 * The differential harness's oracle (tests/support/orthanc-reading.ts) against the real Orthanc
 * 1.10.1 + DICOMweb plugin: for each probe, what the oracle reads from the recorder's record is what
 * Orthanc did — the method its request filter saw (and whether anything ran), the path, the
 * instance WADO-URI served, the studies a QIDO-RS filter kept.
 */
let orthanc: TestOrthanc;
let recorder: RecordingProxy;
let a: GeneratedSeries;
let b: GeneratedSeries;
let catalogue: Catalogue;

beforeAll(async () => {
  orthanc = await startOrthanc();
  recorder = await startRecordingProxy(orthanc.url);
  a = makeSeries({ modality: 'CT', patientName: 'Reading^A', patientId: 'READ-A', instances: 1, rows: 8, columns: 8 });
  b = makeSeries({ modality: 'CT', patientName: 'Reading^B', patientId: 'READ-B', instances: 1, rows: 8, columns: 8 });
  await uploadInstances(orthanc, [...a.files, ...b.files]);
  const parents = (series: GeneratedSeries) => ({ studyUid: series.studyInstanceUid, seriesUid: series.seriesInstanceUid });
  catalogue = {
    byInstanceUid: (uid) => (uid === a.sopInstanceUids[0] ? parents(a) : uid === b.sopInstanceUids[0] ? parents(b) : undefined),
    byOrthancId: () => undefined,
  };
}, 60_000);

afterAll(async () => {
  await recorder?.stop();
  await orthanc?.stop();
});

/** Sends a request through the recorder; returns the oracle's reading, Orthanc's answer and its request log. */
async function probe(target: string, { method = 'GET', headers = {} }: { method?: string; headers?: Record<string, string> } = {}) {
  recorder.clear();
  await orthanc.clearSeenRequests();
  const response = await rawRequest(recorder.url, target, { method, headers: { authorization: orthancBasicAuth(orthanc), ...headers } });
  const [record] = recorder.records();
  return { reading: readAsOrthanc(record!, catalogue), response, seen: await orthanc.seenRequests() };
}

/** A patient of its own for each probe that might delete one. */
async function throwawayPatient(): Promise<string> {
  const series = makeSeries({ modality: 'MR', patientName: 'Throw^Away', patientId: `TMP-${Date.now()}-${Math.random()}`, instances: 1, rows: 8, columns: 8 });
  const [uploaded] = await uploadInstances(orthanc, series.files);
  return uploaded!.ParentPatient;
}

/** What Orthanc's request filter logs for a reading: nothing for a refused method, GET for HEAD (WebDAV read, 404). */
function expectedLog(reading: OrthancReading): string[] {
  if (reading.method === 'INVALID') return [];
  return [`${reading.method === 'HEAD' ? 'GET' : reading.method} ${reading.path}`];
}

describe('the method Orthanc executes (HttpServer.cpp, ExtractMethod)', () => {
  it.each([
    ['?_method=DELETE', {}, 'GET', 'DELETE'],
    ['?_method=delete', {}, 'GET', 'DELETE'],
    ['?x=1&_method=DELETE&_method=PUT', {}, 'GET', 'DELETE'],
    ['?_method=PATCH', {}, 'GET', 'INVALID'],
    ['?_method=get', {}, 'GET', 'INVALID'],
    ['?_method=', {}, 'GET', 'GET'],
    ['?%5Fmethod=DELETE', {}, 'GET', 'GET'],
    ['?_METHOD=DELETE', {}, 'GET', 'GET'],
    ['?x=1;_method=DELETE', {}, 'GET', 'GET'],
    ['?x=_method=DELETE', {}, 'GET', 'GET'],
    ['', { 'X-HTTP-Method-Override': 'DELETE' }, 'GET', 'DELETE'],
    ['', { 'x-http-method-override': 'delete' }, 'GET', 'DELETE'],
    ['', { 'X-HTTP-Method': 'DELETE' }, 'GET', 'GET'],
    ['', { 'X-Method-Override': 'DELETE' }, 'GET', 'GET'],
    ['?_method=DELETE', {}, 'POST', 'POST'],
    ['?_method=DELETE', {}, 'HEAD', 'HEAD'],
    ['', { 'X-HTTP-Method-Override': 'DELETE' }, 'HEAD', 'DELETE'],
  ])('%s %j on a %s is read as %s, and Orthanc did exactly that', async (query, headers, method, expected) => {
    const patient = await throwawayPatient();
    const { reading, response, seen } = await probe(`/patients/${patient}${query}`, { method, headers });
    expect(reading.method).toBe(expected);
    expect(seen).toEqual(expectedLog(reading));
    const stillThere = (await orthancFetch(orthanc, `/patients/${patient}`)).status === 200;
    expect(stillThere).toBe(expected !== 'DELETE');
    if (expected === 'INVALID') expect(response.status).toBe(400);
    if (expected === 'HEAD') expect(response.status).toBe(404);
  });
});

describe('the path Orthanc routes on (civetweb decoding)', () => {
  it.each(['/dicom-web%2Fstudies', '/dicom-web\\studies', '/dicom-web//studies', '/dicom-web/x/../studies', '/dicom-web/./studies', '/dicom-web/%73tudies', '/dicom-web/studies/', '/dicom-web/studies%00x'])(
    '%s',
    async (target) => {
      const { reading, response, seen } = await probe(target);
      expect(seen).toEqual([`GET ${reading.path}`]);
      expect(reading.path.replace(/\/$/, '')).toBe('/dicom-web/studies');
      expect(response.status).toBe(200);
    },
  );

  it.each(['/dicom-web/studies%3Fx', '/dicom-web/studies%23x'])('%s: an encoded ? or # stays in the path', async (target) => {
    const { reading, response, seen } = await probe(target);
    expect(seen).toEqual([`GET ${reading.path}`]);
    expect(reading.path).toMatch(/^\/dicom-web\/studies[?#]x$/);
    expect(response.status).toBe(404);
  });
});

describe('WADO-URI (WadoUri.cpp): the last value of each parameter, empty checks skipped', () => {
  const wado = (query: (ua: string, ub: string) => string) => `/wado?requestType=WADO&contentType=application/dicom&${query(a.studyInstanceUid, b.studyInstanceUid)}`;
  const objectA = () => a.sopInstanceUids[0]!;
  const objectB = () => b.sopInstanceUids[0]!;
  it.each([
    ['two objectUIDs: the last', (_ua: string, _ub: string) => `objectUID=${objectA()}&objectUID=${objectB()}`],
    ['two studyUIDs, the last matching', (ua: string, ub: string) => `studyUID=${ua}&studyUID=${ub}&objectUID=${objectB()}`],
    ['two studyUIDs, the last not matching', (ua: string, ub: string) => `studyUID=${ub}&studyUID=${ua}&objectUID=${objectB()}`],
    ['an empty studyUID is not checked', () => `studyUID=&objectUID=${objectB()}`],
    ['an allowed studyUID emptied by a second one', (ua: string) => `studyUID=${ua}&studyUID=&objectUID=${objectB()}`],
    ['a percent-encoded name is another name', () => `%6FbjectUID=${objectB()}`],
    ['names are case-sensitive', () => `objectuid=${objectB()}`],
    ['`;` is part of the value', () => `objectUID=${objectB()};objectUID=${objectA()}`],
    ['values are not decoded', () => `objectUID=${objectB().replace(/\./g, '%2E')}`],
    ['the last objectUID empty', () => `objectUID=${objectB()}&objectUID=`],
  ])('%s', async (_name, query) => {
    const { reading, response } = await probe(wado(query));
    const parents = reading.instanceUid ? catalogue.byInstanceUid(reading.instanceUid) : undefined;
    // Orthanc serves the oracle's instance exactly when it exists and the named study/series (if any) are its own.
    const serves = parents !== undefined && (reading.named.studyUid ?? parents.studyUid) === parents.studyUid && (reading.named.seriesUid ?? parents.seriesUid) === parents.seriesUid;
    expect(response.status).toBe(serves ? 200 : 404);
    if (serves) expect(response.body).toContain(reading.instanceUid);
    if (serves) expect(reading.studyUid).toBe(parents.studyUid);
  });
});

describe('QIDO-RS filters (QidoRs.cpp): exact keyword or tag, the last value wins, nothing decoded', () => {
  it.each([
    ['two values: the last', (ua: string, ub: string) => `StudyInstanceUID=${ua}&StudyInstanceUID=${ub}`],
    ['a tag', (ua: string) => `0020000D=${ua}`],
    ['a tag with a comma', (ua: string) => `0020,000D=${ua}`],
    ['a tag in lower case', (ua: string) => `0020000d=${ua}`],
    ['a keyword in lower case is ignored', (ua: string) => `studyinstanceuid=${ua}`],
    ['a percent-encoded keyword is ignored', (ua: string) => `%53tudyInstanceUID=${ua}`],
    ['`;` is part of the value', (ua: string, ub: string) => `StudyInstanceUID=${ua};StudyInstanceUID=${ub}`],
    ['an empty value matches everything', () => 'StudyInstanceUID='],
    ['keyword then tag: the last', (ua: string, ub: string) => `StudyInstanceUID=${ua}&0020000D=${ub}`],
    ['backslashes are removed', (ua: string) => `StudyInstanceUID=${ua.slice(0, 6)}\\${ua.slice(6)}`],
  ])('%s', async (_name, query) => {
    const all = tagValues(await (await orthancFetch(orthanc, '/dicom-web/studies')).json(), '0020000D');
    const { reading, response } = await probe(`/dicom-web/studies?${query(a.studyInstanceUid, b.studyInstanceUid)}`);
    expect(response.status).toBe(200);
    const found = tagValues(JSON.parse(response.body), '0020000D');
    expect(found).toEqual(all.filter((uid) => reading.studyUid === undefined || uid === reading.studyUid));
  });
});
