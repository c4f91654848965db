import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { makeSeries, makeUid, type GeneratedSeries } from '../support/dicom.js';
import { ACCEPT_DICOM_JSON, stowBody, tagValues } from '../support/dicomweb.js';
import { auditEventOf } from '../support/audit-events.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startOrthanc, uploadInstances, type TestOrthanc } from '../support/orthanc.js';
import { LogSink } from '../support/session-stack.js';
import { expectStudyNotFound, isStudyLookup } from '../support/study-access.js';
import { startTestIssuer, type TestIssuer } from '../support/test-issuer.js';

/**
 * SMART patient context on /pacs (issue 20) with a real Orthanc holding studies of several patients:
 * - Alice (P-ALICE): two studies; Bob (P-BOB): one; P-ALICE2 (a Patient ID that Alice's is a prefix of): one;
 * - one StudyInstanceUID whose instances disagree on Patient ID (P-ALICE and P-BOB: two Orthanc studies).
 * A token of the SMART app with `patient/ImagingStudy.rs` and patient P-ALICE sees and retrieves
 * Alice's two studies on every route, and nothing else: other studies are answered like unknown
 * ones, before Orthanc; the mixed study is refused; uploads are refused. Other apps keep the role
 * rules; `user/` scopes open what the roles open.
 */
interface Study extends GeneratedSeries {
  orthancInstanceIds: string[];
}

const APP = 'imaging-app';
let issuer: TestIssuer;
let orthanc: TestOrthanc;
let gateway: TestGateway;
const logs = new LogSink();
const studies: Record<'alice1' | 'alice2' | 'bob' | 'alice2Patient' | 'mixedAlice' | 'mixedBob', Study> = {} as never;

async function seed(patientId: string, studyInstanceUid?: string, instances = 1, issuerOfPatientId?: string): Promise<Study> {
  const series = makeSeries({
    modality: 'CT',
    patientName: `Smart^${patientId}`,
    patientId,
    rows: 16,
    columns: 16,
    instances,
    ...(studyInstanceUid ? { studyInstanceUid } : {}),
    ...(issuerOfPatientId ? { issuerOfPatientId } : {}),
  });
  const uploaded = await uploadInstances(orthanc, series.files);
  return { ...series, orthancInstanceIds: uploaded.map((result) => result.ID) };
}

const appToken = (claims: Record<string, unknown>, roles: string[] = []) => issuer.token('alice', roles, { azp: APP, ...claims });
const aliceToken = () => appToken({ scope: 'openid patient/ImagingStudy.rs launch/patient', patient: 'P-ALICE' });

function get(path: string, token: string, accept = '*/*') {
  return fetch(`${gateway.url}${path}`, { headers: { authorization: `Bearer ${token}`, accept } });
}

beforeAll(async () => {
  [issuer, orthanc] = await Promise.all([startTestIssuer(), startOrthanc()]);
  studies.alice1 = await seed('P-ALICE', undefined, 2);
  studies.alice2 = await seed('P-ALICE');
  studies.bob = await seed('P-BOB');
  studies.alice2Patient = await seed('P-ALICE2');
  const mixedUid = makeUid();
  studies.mixedAlice = await seed('P-ALICE', mixedUid);
  studies.mixedBob = await seed('P-BOB', mixedUid);
  gateway = await startTestGateway({
    OIDC_ISSUER: issuer.issuer,
    ORTHANC_URL: orthanc.url,
    ORTHANC_USERNAME: orthanc.username,
    ORTHANC_PASSWORD: orthanc.password,
    SMART_CLIENTS: APP,
    LOG_LEVEL: 'info',
  }, { logDestination: logs });
}, 60_000);

afterAll(async () => {
  await Promise.allSettled([gateway?.close()]);
  await Promise.allSettled([orthanc?.stop(), issuer?.stop()]);
});

/** Every read route of one study. */
const reads: Array<[string, (study: Study) => string]> = [
  ['study retrieve', (s) => `/pacs/dicom-web/studies/${s.studyInstanceUid}`],
  ['study metadata', (s) => `/pacs/dicom-web/studies/${s.studyInstanceUid}/metadata`],
  ['series search in the study', (s) => `/pacs/dicom-web/studies/${s.studyInstanceUid}/series`],
  ['instance search in the series', (s) => `/pacs/dicom-web/studies/${s.studyInstanceUid}/series/${s.seriesInstanceUid}/instances`],
  ['series metadata', (s) => `/pacs/dicom-web/studies/${s.studyInstanceUid}/series/${s.seriesInstanceUid}/metadata`],
  ['instance retrieve', (s) => `/pacs/dicom-web/studies/${s.studyInstanceUid}/series/${s.seriesInstanceUid}/instances/${s.sopInstanceUids[0]}`],
  ['frames', (s) => `/pacs/dicom-web/studies/${s.studyInstanceUid}/series/${s.seriesInstanceUid}/instances/${s.sopInstanceUids[0]}/frames/1`],
  ['bulk data', (s) => `/pacs/dicom-web/studies/${s.studyInstanceUid}/series/${s.seriesInstanceUid}/instances/${s.sopInstanceUids[0]}/bulk/7fe00010`],
  ['rendered', (s) => `/pacs/dicom-web/studies/${s.studyInstanceUid}/series/${s.seriesInstanceUid}/instances/${s.sopInstanceUids[0]}/rendered`],
  ['rendered frame', (s) => `/pacs/dicom-web/studies/${s.studyInstanceUid}/series/${s.seriesInstanceUid}/instances/${s.sopInstanceUids[0]}/frames/1/rendered`],
  ['WADO-URI', (s) => `/pacs/wado?requestType=WADO&studyUID=${s.studyInstanceUid}&seriesUID=${s.seriesInstanceUid}&objectUID=${s.sopInstanceUids[0]}`],
  ['preview by Orthanc id', (s) => `/pacs/instances/${s.orthancInstanceIds[0]}/preview`],
];

/** The StudyInstanceUIDs of every result of a search at each level across studies. */
async function searched(token: string): Promise<Record<'studies' | 'series' | 'instances', unknown[]>> {
  const level = async (path: string) => {
    const response = await get(`/pacs/dicom-web/${path}`, token, ACCEPT_DICOM_JSON);
    expect(response.status).toBe(200);
    return tagValues(await response.json(), '0020000D');
  };
  return { studies: await level('studies'), series: await level('series'), instances: await level('instances') };
}

describe('a patient-context token of a SMART app (patient/ImagingStudy.rs, patient P-ALICE)', () => {
  it('searches at every level list only Alice’s studies (not Bob’s, not P-ALICE2’s, not the mixed one)', async () => {
    const found = await searched(await aliceToken());
    expect(new Set(found.studies)).toEqual(new Set([studies.alice1.studyInstanceUid, studies.alice2.studyInstanceUid]));
    expect(new Set(found.series)).toEqual(new Set([studies.alice1.studyInstanceUid, studies.alice2.studyInstanceUid]));
    expect(found.instances.sort()).toEqual([studies.alice1.studyInstanceUid, studies.alice1.studyInstanceUid, studies.alice2.studyInstanceUid].sort());
  });

  it('a search filtering on another patient finds nothing', async () => {
    const response = await get('/pacs/dicom-web/studies?PatientID=P-BOB', await aliceToken(), ACCEPT_DICOM_JSON);
    expect(response.status).toBe(200);
    expect(tagValues(await response.json().catch(() => []), '0020000D')).toEqual([]);
  });

  it.each(reads)('%s: served for Alice’s own study, as for a user who sees every study', async (_route, path) => {
    const unrestricted = await get(path(studies.alice1), await issuer.token('root', ['pacs-admin']));
    expect([200, 204]).toContain(unrestricted.status);
    const response = await get(path(studies.alice1), await aliceToken());
    expect(response.status).toBe(unrestricted.status);
    expect(Buffer.from(await response.arrayBuffer()).length).toBe(Buffer.from(await unrestricted.arrayBuffer()).length);
  });

  describe.each([
    ['Bob’s study', () => studies.bob],
    ['the study of P-ALICE2 (Alice’s Patient ID is a prefix of it)', () => studies.alice2Patient],
    ['the study whose instances disagree on Patient ID, through Alice’s part', () => studies.mixedAlice],
  ])('%s', (_name, study) => {
    it.each(reads)('%s: 404 like an unknown study, nothing but the lookup reaches Orthanc', async (_route, path) => {
      await orthanc.clearSeenRequests();
      await expectStudyNotFound(await get(path(study()), await aliceToken()));
      expect((await orthanc.seenRequests()).filter((request) => !isStudyLookup(request))).toEqual([]);
    });
  });

  it.each([
    ['patient/ImagingStudy.rs', 'openid patient/ImagingStudy.rs'],
    ['patient/ImagingStudy.c (a patient write scope)', 'patient/ImagingStudy.cruds'],
  ])('uploads are refused with %s, even with the uploader role', async (_name, scope) => {
    const files = makeSeries({ modality: 'CT', patientName: 'Smart^Upload', patientId: 'P-ALICE', rows: 16, columns: 16, instances: 1 }).files;
    const { body, contentType } = stowBody(files);
    await orthanc.clearSeenRequests();
    const response = await fetch(`${gateway.url}/pacs/dicom-web/studies`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await appToken({ scope, patient: 'P-ALICE' }, ['pacs-uploader'])}`, 'content-type': contentType, accept: ACCEPT_DICOM_JSON },
      body,
    });
    expect(response.status).toBe(403);
    expect(await orthanc.seenRequests()).toEqual([]);
  });

  it('share links are refused, whatever the roles', async () => {
    const response = await fetch(`${gateway.url}/auth/share`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await appToken({ scope: 'user/*.* patient/*.*', patient: 'P-ALICE' }, ['pacs-admin'])}`, 'content-type': 'application/json' },
      body: JSON.stringify({ studyInstanceUID: studies.bob.studyInstanceUid }),
    });
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ error: 'forbidden', message: 'Sharing is not open to SMART apps' });
  });

  it('the admin API is refused, whatever the roles', async () => {
    const response = await get('/pacs-admin/system', await appToken({ scope: 'patient/*.*', patient: 'P-ALICE' }, ['pacs-admin']));
    expect(response.status).toBe(403);
  });
});

describe('tokens of the SMART app without a usable grant', () => {
  it.each([
    ['a patient scope but no patient context', { scope: 'patient/ImagingStudy.rs' }, []],
    ['no imaging scope, even with roles', { scope: 'openid patient/Observation.rs', patient: 'P-ALICE' }, ['pacs-admin']],
    ['a granular scope the gateway cannot honour', { scope: 'patient/ImagingStudy.rs?category=x', patient: 'P-ALICE' }, []],
    ['a user scope without a role', { scope: 'user/ImagingStudy.rs' }, []],
  ])('%s: 403 on search and retrieve', async (_name, claims, roles) => {
    const token = await appToken(claims, roles);
    await orthanc.clearSeenRequests();
    expect((await get('/pacs/dicom-web/studies', token, ACCEPT_DICOM_JSON)).status).toBe(403);
    expect((await get(`/pacs/dicom-web/studies/${studies.alice1.studyInstanceUid}/metadata`, token)).status).toBe(403);
    expect(await orthanc.seenRequests()).toEqual([]);
  });

  it('a user scope with the viewer role sees every patient', async () => {
    const found = await searched(await appToken({ scope: 'user/ImagingStudy.rs' }, ['pacs-viewer']));
    expect(found.studies).toEqual(expect.arrayContaining([studies.alice1.studyInstanceUid, studies.bob.studyInstanceUid, studies.alice2Patient.studyInstanceUid]));
  });
});

describe('other apps keep the role rules', () => {
  it('a patient scope in a token of another app grants nothing without a role, and the viewer role sees everyone', async () => {
    const claims = { azp: 'ohif-viewer', scope: 'patient/ImagingStudy.rs', patient: 'P-ALICE' };
    expect((await get('/pacs/dicom-web/studies', await issuer.token('alice', [], claims), ACCEPT_DICOM_JSON)).status).toBe(403);
    const response = await get(`/pacs/dicom-web/studies/${studies.bob.studyInstanceUid}/metadata`, await issuer.token('alice', ['pacs-viewer'], claims));
    expect(response.status).toBe(200);
  });
});

describe('discovery', () => {
  it('publishes the SMART configuration for the DICOMweb base, from the IdP’s discovery, without a token', async () => {
    const response = await fetch(`${gateway.url}/pacs/dicom-web/.well-known/smart-configuration`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      issuer: issuer.issuer,
      authorization_endpoint: `${issuer.issuer}/protocol/openid-connect/auth`,
      token_endpoint: `${issuer.issuer}/protocol/openid-connect/token`,
      capabilities: expect.arrayContaining(['smart-imaging-access', 'permission-patient']),
      scopes_supported: expect.arrayContaining(['patient/ImagingStudy.rs']),
    });
  });

  it('stays a plain 404 under /pacs without SMART_CLIENTS', async () => {
    const plain = await startTestGateway({ OIDC_ISSUER: issuer.issuer, ORTHANC_URL: orthanc.url, ORTHANC_USERNAME: orthanc.username, ORTHANC_PASSWORD: orthanc.password });
    try {
      expect((await fetch(`${plain.url}/pacs/dicom-web/.well-known/smart-configuration`)).status).toBe(404);
    } finally {
      await plain.close();
    }
  });
});

describe('audit', () => {
  it('names the app and the patient context, for an access and for a refusal', async () => {
    const token = await aliceToken();
    const served = await get(`/pacs/dicom-web/studies/${studies.alice1.studyInstanceUid}/metadata`, token);
    expect(served.status).toBe(200);
    expect(await auditEventOf(served.headers.get('x-request-id')!, logs)).toMatchObject({
      event: 'access',
      action: 'retrieve',
      user: { sub: 'sub-alice', username: 'alice' },
      clientId: APP,
      patientContext: ['P-ALICE'],
      studyUid: studies.alice1.studyInstanceUid,
    });
    const refused = await get(`/pacs/dicom-web/studies/${studies.bob.studyInstanceUid}/metadata`, token);
    expect(refused.status).toBe(404);
    expect(await auditEventOf(refused.headers.get('x-request-id')!, logs)).toMatchObject({ event: 'denied', clientId: APP, patientContext: ['P-ALICE'], studyUid: studies.bob.studyInstanceUid });
  });
});

describe('SMART_PATIENT_ID_ISSUER: the Issuer of Patient ID must match too', () => {
  let withIssuer: TestGateway;
  const carol: Record<'hospitalA' | 'hospitalB' | 'noIssuer' | 'mixed', Study> = {} as never;
  const carolToken = () => appToken({ scope: 'patient/ImagingStudy.rs', patient: 'P-CAROL' });

  beforeAll(async () => {
    carol.hospitalA = await seed('P-CAROL', undefined, 1, 'HOSP-A');
    carol.hospitalB = await seed('P-CAROL', undefined, 1, 'HOSP-B');
    carol.noIssuer = await seed('P-CAROL');
    // One study, one patient in Orthanc, instances of two issuers: only the per-instance tags tell.
    const mixedUid = makeUid();
    carol.mixed = await seed('P-CAROL', mixedUid, 1, 'HOSP-A');
    await seed('P-CAROL', mixedUid, 1, 'HOSP-B');
    withIssuer = await startTestGateway({
      OIDC_ISSUER: issuer.issuer,
      ORTHANC_URL: orthanc.url,
      ORTHANC_USERNAME: orthanc.username,
      ORTHANC_PASSWORD: orthanc.password,
      SMART_CLIENTS: APP,
      SMART_PATIENT_ID_ISSUER: 'HOSP-A',
    });
  }, 60_000);

  afterAll(async () => {
    await withIssuer?.close();
  });

  it('a search lists only the study whose every instance is of that issuer', async () => {
    const response = await fetch(`${withIssuer.url}/pacs/dicom-web/studies`, { headers: { authorization: `Bearer ${await carolToken()}`, accept: ACCEPT_DICOM_JSON } });
    expect(response.status).toBe(200);
    expect(tagValues(await response.json(), '0020000D')).toEqual([carol.hospitalA.studyInstanceUid]);
  });

  it.each<[string, keyof typeof carol, number]>([
    ['of that issuer', 'hospitalA', 200],
    ['of another issuer', 'hospitalB', 404],
    ['without an issuer', 'noIssuer', 404],
    ['whose instances disagree on the issuer', 'mixed', 404],
  ])('the metadata of a study %s: %s', async (_name, study, status) => {
    const response = await fetch(`${withIssuer.url}/pacs/dicom-web/studies/${carol[study].studyInstanceUid}/metadata`, { headers: { authorization: `Bearer ${await carolToken()}` } });
    if (status === 404) await expectStudyNotFound(response);
    else expect(response.status).toBe(200);
  });
});

describe('SMART_PATIENT_FHIR_URL: the patient claim is a FHIR Patient id, mapped at a FHIR server', () => {
  const SYSTEM = 'urn:oid:1.2.3.999';
  /** FHIR Patient resources by id; `broken` answers 500. */
  const PATIENTS: Record<string, unknown> = {
    'alice-fhir': { resourceType: 'Patient', id: 'alice-fhir', identifier: [{ system: 'urn:mrn', value: 'P-BOB' }, { system: SYSTEM, value: 'P-ALICE' }] },
    'nobody-fhir': { resourceType: 'Patient', id: 'nobody-fhir', identifier: [{ system: 'urn:mrn', value: 'P-ALICE' }] },
  };
  const seen: Array<{ url: string | undefined; authorization: string | undefined }> = [];
  const fhir = http.createServer((req, res) => {
    seen.push({ url: req.url, authorization: req.headers.authorization });
    const id = /^\/fhir\/Patient\/([^/?]+)$/.exec(req.url ?? '')?.[1];
    if (id === 'broken') return res.writeHead(500).end();
    const resource = id === undefined ? undefined : PATIENTS[id];
    res.writeHead(resource ? 200 : 404, { 'content-type': 'application/fhir+json' }).end(JSON.stringify(resource ?? { resourceType: 'OperationOutcome' }));
  });
  let withFhir: TestGateway;
  const fhirToken = (patient: string) => appToken({ scope: 'patient/ImagingStudy.rs', patient });
  const call = async (path: string, token: string) => fetch(`${withFhir.url}${path}`, { headers: { authorization: `Bearer ${token}`, accept: ACCEPT_DICOM_JSON } });

  beforeAll(async () => {
    await new Promise<void>((resolve) => fhir.listen(0, '127.0.0.1', resolve));
    withFhir = await startTestGateway({
      OIDC_ISSUER: issuer.issuer,
      ORTHANC_URL: orthanc.url,
      ORTHANC_USERNAME: orthanc.username,
      ORTHANC_PASSWORD: orthanc.password,
      SMART_CLIENTS: APP,
      SMART_PATIENT_FHIR_URL: `http://127.0.0.1:${(fhir.address() as AddressInfo).port}/fhir/`,
      SMART_PATIENT_IDENTIFIER_SYSTEM: SYSTEM,
    });
  }, 60_000);

  afterAll(async () => {
    await withFhir?.close();
    fhir.closeAllConnections();
    await new Promise((resolve) => fhir.close(resolve));
  });

  it('maps the Patient’s identifier of the system (asking with the app’s token, once), and confines to it', async () => {
    const token = await fhirToken('alice-fhir');
    seen.length = 0;
    const found = await call('/pacs/dicom-web/studies', token);
    expect(found.status).toBe(200);
    expect(new Set(tagValues(await found.json(), '0020000D'))).toEqual(new Set([studies.alice1.studyInstanceUid, studies.alice2.studyInstanceUid]));
    expect(seen).toEqual([{ url: '/fhir/Patient/alice-fhir', authorization: `Bearer ${token}` }]);
    expect((await call(`/pacs/dicom-web/studies/${studies.alice1.studyInstanceUid}/metadata`, token)).status).toBe(200);
    // The identifier of another system (P-BOB there) does not count.
    await expectStudyNotFound(await call(`/pacs/dicom-web/studies/${studies.bob.studyInstanceUid}/metadata`, token));
    expect(seen).toHaveLength(1); // cached
  });

  it.each([
    ['a Patient without an identifier of the system', 'nobody-fhir', 403],
    ['an unknown Patient', 'ghost-fhir', 403],
    ['a Patient id that is no FHIR id (never sent)', 'a/b', 403],
    ['the FHIR server failing', 'broken', 502],
  ])('%s: %s → %s, nothing reaches Orthanc', async (_name, patient, status) => {
    await orthanc.clearSeenRequests();
    const response = await call('/pacs/dicom-web/studies', await fhirToken(patient));
    expect(response.status).toBe(status);
    expect(await orthanc.seenRequests()).toEqual([]);
    expect(seen.map((request) => request.url)).not.toContain('/fhir/Patient/a/b');
  });
});

