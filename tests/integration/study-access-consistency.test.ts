import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { makeSeries, makeUid, type GeneratedSeries } from '../support/dicom.js';
import { ACCEPT_DICOM_JSON, tagValues } from '../support/dicomweb.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startOrthanc, uploadInstances, type TestOrthanc } from '../support/orthanc.js';
import { expectStudyNotFound, isStudyLookup } from '../support/study-access.js';
import { startTestIssuer, type TestIssuer } from '../support/test-issuer.js';

/**
 * Per-study access decides once per study, the same way on every route (issue 14, item 3). A real
 * Orthanc holds studies built to make routes disagree if they read different sources:
 * - a study whose instances disagree on InstitutionName (the first one Orthanc received says
 *   "Hospital A", so Orthanc's study-level tags say "Hospital A");
 * - one StudyInstanceUID under two patients (two Orthanc studies, PatientIDs HA-… and HB-…).
 * A user allowed only one of the values is refused on every route, its searches included; a user
 * allowed all of them is served on every route. The disagreement is logged, naming the study.
 */
interface Part extends GeneratedSeries {
  orthancInstanceIds: string[];
}

let issuer: TestIssuer;
let orthanc: TestOrthanc;
let byInstitution: TestGateway;
let byPatientPrefix: TestGateway;
const logs: Array<Record<string, unknown>> = [];
/** Mixed institutions: `mixed[0]` (Hospital A, uploaded first), `mixed[1]` (Hospital B). */
const mixed: Part[] = [];
/** One StudyInstanceUID, two patients: `twin[0]` (HA-T), `twin[1]` (HB-T). */
const twin: Part[] = [];
/** A plain Hospital A study of patient HA-P. */
let plain: Part;

async function seed(options: { institutionName: string; patientId: string; studyInstanceUid?: string; instances?: number }): Promise<Part> {
  const series = makeSeries({ modality: 'CT', patientName: 'Consistency^Test', rows: 16, columns: 16, instances: options.instances ?? 1, ...options });
  const uploaded = await uploadInstances(orthanc, series.files);
  return { ...series, orthancInstanceIds: uploaded.map((result) => result.ID) };
}

const VIEWER = ['pacs-viewer'];
const institutionToken = (institution: string[]) => issuer.token('clinician', VIEWER, { institution });
const prefixToken = (prefix: string[]) => issuer.token('clinician', VIEWER, { attributes: { patient_prefix: prefix } });

function get(gateway: TestGateway, path: string, token: string, accept = '*/*') {
  return fetch(`${gateway.url}${path}`, { headers: { authorization: `Bearer ${token}`, accept } });
}

beforeAll(async () => {
  [issuer, orthanc] = await Promise.all([startTestIssuer(), startOrthanc()]);
  const mixedUid = makeUid();
  mixed.push(await seed({ institutionName: 'Hospital A', patientId: 'HA-M', studyInstanceUid: mixedUid, instances: 2 }));
  mixed.push(await seed({ institutionName: 'Hospital B', patientId: 'HA-M', studyInstanceUid: mixedUid }));
  const twinUid = makeUid();
  twin.push(await seed({ institutionName: 'Hospital A', patientId: 'HA-T', studyInstanceUid: twinUid }));
  twin.push(await seed({ institutionName: 'Hospital A', patientId: 'HB-T', studyInstanceUid: twinUid }));
  plain = await seed({ institutionName: 'Hospital A', patientId: 'HA-P' });
  const common = { OIDC_ISSUER: issuer.issuer, ORTHANC_URL: orthanc.url, ORTHANC_USERNAME: orthanc.username, ORTHANC_PASSWORD: orthanc.password, LOG_LEVEL: 'warn' };
  const logDestination = { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) };
  [byInstitution, byPatientPrefix] = await Promise.all([
    startTestGateway({ ...common, STUDY_ACCESS_CLAIM: 'institution' }, { logDestination }),
    startTestGateway({ ...common, STUDY_ACCESS_CLAIM: 'attributes.patient_prefix', STUDY_ACCESS_ATTRIBUTE: 'PatientIDPrefix' }, { logDestination }),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.allSettled([byInstitution?.close(), byPatientPrefix?.close()]);
  await Promise.allSettled([orthanc?.stop(), issuer?.stop()]);
});

/** Every read route, aimed at a part of the study that on its own looks allowed. */
const reads: Array<[string, (part: Part) => string]> = [
  ['study metadata', (part) => `/pacs/dicom-web/studies/${part.studyInstanceUid}/metadata`],
  ['study retrieve', (part) => `/pacs/dicom-web/studies/${part.studyInstanceUid}`],
  ['series search in the study', (part) => `/pacs/dicom-web/studies/${part.studyInstanceUid}/series`],
  ['series metadata', (part) => `/pacs/dicom-web/studies/${part.studyInstanceUid}/series/${part.seriesInstanceUid}/metadata`],
  ['instance retrieve', (part) => `/pacs/dicom-web/studies/${part.studyInstanceUid}/series/${part.seriesInstanceUid}/instances/${part.sopInstanceUids[0]}`],
  ['frames', (part) => `/pacs/dicom-web/studies/${part.studyInstanceUid}/series/${part.seriesInstanceUid}/instances/${part.sopInstanceUids[0]}/frames/1`],
  ['rendered', (part) => `/pacs/dicom-web/studies/${part.studyInstanceUid}/series/${part.seriesInstanceUid}/instances/${part.sopInstanceUids[0]}/rendered`],
  ['WADO-URI', (part) => `/pacs/wado?requestType=WADO&studyUID=${part.studyInstanceUid}&seriesUID=${part.seriesInstanceUid}&objectUID=${part.sopInstanceUids[0]}`],
  ['preview by Orthanc id', (part) => `/pacs/instances/${part.orthancInstanceIds[0]}/preview`],
];

/** The StudyInstanceUIDs of every result of a search at each level across studies. */
async function searched(gateway: TestGateway, token: string): Promise<Record<'studies' | 'series' | 'instances', unknown[]>> {
  const level = async (path: string) => {
    const response = await get(gateway, `/pacs/dicom-web/${path}`, token, ACCEPT_DICOM_JSON);
    expect(response.status).toBe(200);
    return tagValues(await response.json(), '0020000D');
  };
  return { studies: await level('studies'), series: await level('series'), instances: await level('instances') };
}

describe.each([
  {
    name: 'a study whose instances disagree on InstitutionName (Orthanc’s study tags say Hospital A)',
    gateway: () => byInstitution,
    part: () => mixed[0]!,
    partial: () => institutionToken(['Hospital A']),
    complete: () => institutionToken(['Hospital A', 'Hospital B']),
    control: () => plain,
  },
  {
    name: 'one StudyInstanceUID under two patients (HA-T and HB-T), by PatientID prefix',
    gateway: () => byPatientPrefix,
    part: () => twin[0]!,
    partial: () => prefixToken(['HA-']),
    complete: () => prefixToken(['HA-', 'HB-']),
    control: () => plain,
  },
])('$name', ({ gateway, part, partial, complete, control }) => {
  it.each(reads)('%s: refused to a user allowed only some of its values (404, like an unknown study), before Orthanc', async (_route, path) => {
    await orthanc.clearSeenRequests();
    const response = await get(gateway(), path(part()), await partial());
    await expectStudyNotFound(response);
    expect((await orthanc.seenRequests()).filter((request) => !isStudyLookup(request))).toEqual([]);
  });

  it.each(reads)('%s: passed to Orthanc for a user allowed all of its values (answered as for a user who sees every study)', async (_route, path) => {
    // Orthanc's DICOMweb plugin itself answers 404 to study-level reads of a UID held by two patients.
    const unrestricted = await get(gateway(), path(part()), await issuer.token('root', ['pacs-admin']));
    await orthanc.clearSeenRequests();
    const response = await get(gateway(), path(part()), await complete());
    expect(response.status).toBe(unrestricted.status);
    expect((await orthanc.seenRequests()).filter((request) => !isStudyLookup(request))).toHaveLength(1);
  });

  it.each(reads)('%s: a plain study of the same user is served (control)', async (_route, path) => {
    expect((await get(gateway(), path(control()), await partial())).status).toBe(200);
  });

  it('searches at every level leave it out for the partial user, list it for the complete one', async () => {
    const uid = part().studyInstanceUid;
    const refused = await searched(gateway(), await partial());
    for (const level of [refused.studies, refused.series, refused.instances]) {
      expect(level).not.toContain(uid);
      expect(level).toContain(control().studyInstanceUid);
    }
    const allowed = await searched(gateway(), await complete());
    expect(allowed.studies).toContain(uid);
    expect(allowed.series).toContain(uid);
    expect(allowed.instances).toContain(uid);
  });

  it('a search for that very study finds nothing for the partial user', async () => {
    const response = await get(gateway(), `/pacs/dicom-web/series?StudyInstanceUID=${part().studyInstanceUid}`, await partial(), ACCEPT_DICOM_JSON);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual([]);
  });

  it('audits a refused read as denied (reason forbidden), though it was answered 404', async () => {
    const response = await get(gateway(), reads[0]![1](part()), await partial());
    const { requestId } = (await response.json()) as { requestId: string };
    await new Promise((resolve) => setTimeout(resolve, 50));
    const audit = logs.find((line) => line['log'] === 'audit' && line['requestId'] === requestId);
    expect(audit).toMatchObject({ event: 'denied', action: 'denied', reason: 'forbidden', status: 404, studyUid: part().studyInstanceUid });
  });

  it('logs a warning naming the study, without the attribute values', () => {
    const warning = logs.find((line) => line['studyInstanceUid'] === part().studyInstanceUid);
    expect(warning).toMatchObject({ level: 40, msg: expect.stringContaining('disagree'), distinctValues: 2 });
    expect(JSON.stringify(warning)).not.toMatch(/Hospital B|HB-T/);
  });
});
