import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { makeSeries, type GeneratedSeries } from '../support/dicom.js';
import { ACCEPT_DICOM_JSON, stowBody, tagValues } from '../support/dicomweb.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import type { Browser } from '../support/http-browser.js';
import { orthancFetch, startOrthanc, uploadInstances, type TestOrthanc } from '../support/orthanc.js';
import { rawRequest } from '../support/raw-http.js';
import { expectStudyNotFound, isStudyLookup } from '../support/study-access.js';
import { startSessionStack, type SessionStack, signedInBrowser } from '../support/session-stack.js';
import { startTestIssuer, type TestIssuer } from '../support/test-issuer.js';

/**
 * Per-study access from a token claim (issue 10, item 2) against a real Orthanc holding studies of
 * two institutions: searches list only the caller's studies with paging over the filtered list,
 * reads of other studies are 404 (like unknown ones) before anything of theirs reaches Orthanc, bypass roles see all,
 * a token without the claim sees nothing.
 */
interface Study extends GeneratedSeries {
  orthancInstanceId: string;
}

let issuer: TestIssuer;
let orthanc: TestOrthanc;
let byInstitution: TestGateway;
let byPatientPrefix: TestGateway;
const hospitalA: Study[] = [];
const hospitalB: Study[] = [];
/** The study UIDs in Orthanc's own search order. */
let orthancOrder: string[];

const VIEWER = ['pacs-viewer'];
const UPLOADER = ['pacs-viewer', 'pacs-uploader'];

async function seed(institutionName: string, patientId: string, into = orthanc): Promise<Study> {
  const series = makeSeries({ modality: 'CT', patientName: 'Access^Test', patientId, institutionName, instances: 1, rows: 16, columns: 16 });
  const [result] = await uploadInstances(into, series.files);
  return { ...series, orthancInstanceId: result!.ID };
}

/** After a refused read, only the gateway's lookups may have reached Orthanc. */
const onlyLookups = (seen: string[]) => seen.every(isStudyLookup);

function get(gateway: TestGateway, path: string, token: string, accept = ACCEPT_DICOM_JSON) {
  return fetch(`${gateway.url}${path}`, { headers: { authorization: `Bearer ${token}`, accept } });
}

async function studyUids(gateway: TestGateway, query: string, token: string): Promise<unknown[]> {
  const response = await get(gateway, `/pacs/dicom-web/studies${query}`, token);
  expect(response.status).toBe(200);
  return tagValues(await response.json(), '0020000D');
}

/** A token for a viewer whose `institution` claim holds these values. */
const institutionToken = (institution: string | string[] | undefined, roles = VIEWER) =>
  issuer.token('clinician', roles, institution === undefined ? {} : { institution });

const uidsOf = (studies: Study[]) => studies.map((study) => study.studyInstanceUid);
const inOrthancOrder = (studies: Study[]) => orthancOrder.filter((uid) => uidsOf(studies).includes(uid));

beforeAll(async () => {
  [issuer, orthanc] = await Promise.all([startTestIssuer(), startOrthanc()]);
  for (const id of ['HA-1', 'HA-2', 'HA-3']) hospitalA.push(await seed('Hospital A', id));
  for (const id of ['HB-1', 'HB-2']) hospitalB.push(await seed('Hospital B', id));
  const all = await orthancFetch(orthanc, '/dicom-web/studies');
  orthancOrder = tagValues(await all.json(), '0020000D') as string[];
  const common = { OIDC_ISSUER: issuer.issuer, ORTHANC_URL: orthanc.url, ORTHANC_USERNAME: orthanc.username, ORTHANC_PASSWORD: orthanc.password };
  [byInstitution, byPatientPrefix] = await Promise.all([
    startTestGateway({ ...common, STUDY_ACCESS_CLAIM: 'institution' }),
    startTestGateway({
      ...common,
      STUDY_ACCESS_CLAIM: 'attributes.patient_prefix',
      STUDY_ACCESS_ATTRIBUTE: 'PatientIDPrefix',
      STUDY_ACCESS_BYPASS_ROLES: 'pacs-auditor',
    }),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.allSettled([byInstitution?.close(), byPatientPrefix?.close()]);
  await Promise.allSettled([orthanc?.stop(), issuer?.stop()]);
});

describe('searches (QIDO-RS) are filtered in the gateway', () => {
  it.each([
    ['Hospital A', () => hospitalA],
    [['Hospital B'], () => hospitalB],
    [['Hospital B', 'Hospital A'], () => [...hospitalA, ...hospitalB]],
    [' Hospital A  ', () => hospitalA], // DICOM padding is not content
  ])('a claim of %j lists exactly its studies', async (institution, expected) => {
    expect(await studyUids(byInstitution, '', await institutionToken(institution))).toEqual(inOrthancOrder(expected()));
  });

  it.each([
    ['no claim', undefined],
    ['an empty claim', []],
    ['another case', 'hospital a'],
    ['a prefix of the name', 'Hospital'],
  ])('%s lists nothing', async (_name, institution) => {
    expect(await studyUids(byInstitution, '', await institutionToken(institution))).toEqual([]);
  });

  it('lets the bypass role (admin by default) see every study, without the claim', async () => {
    const uids = await studyUids(byInstitution, '', await issuer.token('root', ['pacs-admin']));
    expect(uids).toEqual(orthancOrder);
    expect(uids).toHaveLength(5);
  });

  it('pages limit/offset over the filtered list', async () => {
    const token = await institutionToken('Hospital A');
    const expected = inOrthancOrder(hospitalA);
    expect(await studyUids(byInstitution, '?limit=2', token)).toEqual(expected.slice(0, 2));
    expect(await studyUids(byInstitution, '?limit=2&offset=2', token)).toEqual(expected.slice(2, 4));
    expect(await studyUids(byInstitution, '?offset=1&limit=1', token)).toEqual(expected.slice(1, 2));
    expect(await studyUids(byInstitution, '?offset=3', token)).toEqual([]);
  });

  it('cannot search its way to another institution’s study', async () => {
    const token = await institutionToken('Hospital A');
    const foreign = hospitalB[0]!;
    expect(await studyUids(byInstitution, `?StudyInstanceUID=${foreign.studyInstanceUid}`, token)).toEqual([]);
    expect(await studyUids(byInstitution, '?InstitutionName=Hospital%20B', token)).toEqual([]);
    expect(await studyUids(byInstitution, '?PatientID=HB-1', token)).toEqual([]);
  });

  it('filters series and instance searches across studies too', async () => {
    const token = await institutionToken('Hospital B');
    const series = await get(byInstitution, '/pacs/dicom-web/series', token);
    expect(tagValues(await series.json(), '0020000E').sort()).toEqual(hospitalB.map((study) => study.seriesInstanceUid).sort());
    const instances = await get(byInstitution, '/pacs/dicom-web/instances?limit=1', token);
    const sopUids = tagValues(await instances.json(), '00080018');
    expect(sopUids).toHaveLength(1);
    expect(hospitalB.flatMap((study) => study.sopInstanceUids)).toContain(sopUids[0]);
  });

  it('answers a search for another format with DICOM JSON it could filter', async () => {
    const response = await get(byInstitution, '/pacs/dicom-web/studies', await institutionToken('Hospital B'), 'multipart/related; type="application/dicom+xml"');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/dicom\+json/);
    expect(tagValues(await response.json(), '0020000D').sort()).toEqual(uidsOf(hospitalB).sort());
  });

  it.each(['?limit=abc', '?offset=-1', '?limit=1&limit=2'])('refuses bad paging %s with 400 JSON', async (query) => {
    const response = await get(byInstitution, `/pacs/dicom-web/studies${query}`, await institutionToken('Hospital A'));
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: 'bad_request', message: expect.stringMatching(/limit|offset/), requestId: expect.any(String) });
  });
});

describe('reads of one study are checked against Orthanc’s record of it', () => {
  const own = () => hospitalA[0]!;
  const foreign = () => hospitalB[0]!;
  const instancePath = (study: Study) =>
    `/pacs/dicom-web/studies/${study.studyInstanceUid}/series/${study.seriesInstanceUid}/instances/${study.sopInstanceUids[0]}`;
  const reads: Array<[string, (study: Study) => string]> = [
    ['study metadata', (study) => `/pacs/dicom-web/studies/${study.studyInstanceUid}/metadata`],
    ['series metadata', (study) => `/pacs/dicom-web/studies/${study.studyInstanceUid}/series/${study.seriesInstanceUid}/metadata`],
    ['series search in the study', (study) => `/pacs/dicom-web/studies/${study.studyInstanceUid}/series`],
    ['rendered instance', (study) => `${instancePath(study)}/rendered`],
    ['frames', (study) => `${instancePath(study)}/frames/1`],
    ['WADO-URI', (study) => `/pacs/wado?requestType=WADO&studyUID=${study.studyInstanceUid}&seriesUID=${study.seriesInstanceUid}&objectUID=${study.sopInstanceUids[0]}`],
    ['preview by Orthanc id', (study) => `/pacs/instances/${study.orthancInstanceId}/preview`],
  ];

  it.each(reads)('%s of an allowed study: 200', async (_name, path) => {
    expect((await get(byInstitution, path(own()), await institutionToken('Hospital A'), '*/*')).status).toBe(200);
  });

  it.each(reads)('%s of another institution’s study: 404 like an unknown study, and Orthanc never saw the read', async (_name, path) => {
    await orthanc.clearSeenRequests();
    await expectStudyNotFound(await get(byInstitution, path(foreign()), await institutionToken('Hospital A'), '*/*'));
    expect(onlyLookups(await orthanc.seenRequests())).toBe(true);
  });

  const unknown: Study = { studyInstanceUid: '1.2.3.404', seriesInstanceUid: '1.2.3.405', sopInstanceUids: ['1.2.3.406'], files: [], orthancInstanceId: '00000000-00000000-00000000-00000000-00000000' };
  it.each(reads)('%s of a study that does not exist: the very same answer', async (_name, path) => {
    await expectStudyNotFound(await get(byInstitution, path(unknown), await institutionToken('Hospital A'), '*/*'));
  });

  it.each([
    ['WADO-RS, an instance of another study under the allowed study’s path', () => instancePath({ ...own(), sopInstanceUids: foreign().sopInstanceUids })],
    ['WADO-RS, a series of another study under the allowed study’s path', () => `/pacs/dicom-web/studies/${own().studyInstanceUid}/series/${foreign().seriesInstanceUid}/metadata`],
    ['WADO-URI, the objectUID of another study with the allowed studyUID', () => reads[5]![1]({ ...own(), sopInstanceUids: foreign().sopInstanceUids })],
    ['WADO-RS, an instance UID that exists nowhere', () => instancePath({ ...own(), sopInstanceUids: ['1.2.3.407'] })],
    ['WADO-URI, an objectUID that exists nowhere', () => reads[5]![1]({ ...own(), sopInstanceUids: ['1.2.3.407'] })],
  ])('%s: the same 404 (Orthanc’s own answer is not passed on)', async (_name, path) => {
    await expectStudyNotFound(await get(byInstitution, path(), await institutionToken('Hospital A'), '*/*'));
  });

  it('refuses every read to a token without the claim, without asking Orthanc', async () => {
    await orthanc.clearSeenRequests();
    expect((await get(byInstitution, reads[0]![1](own()), await institutionToken(undefined))).status).toBe(403);
    expect(await orthanc.seenRequests()).toEqual([]);
  });

  it('refuses WADO-URI without a studyUID (Orthanc would find the object anyway)', async () => {
    const study = own();
    await orthanc.clearSeenRequests();
    const response = await get(byInstitution, `/pacs/wado?requestType=WADO&objectUID=${study.sopInstanceUids[0]}`, await institutionToken('Hospital A'), '*/*');
    // Refused before policy (every WADO-URI must name its study, series and object once, issue 14); nothing reaches Orthanc.
    expect(response.status).toBe(400);
    expect(await orthanc.seenRequests()).toEqual([]);
  });

  it('looks a study up once per cache window, whatever the number of reads', async () => {
    const token = await institutionToken('Hospital A');
    const study = hospitalA[1]!;
    await orthanc.clearSeenRequests();
    for (let read = 0; read < 3; read++) {
      expect((await get(byInstitution, `/pacs/dicom-web/studies/${study.studyInstanceUid}/metadata`, token)).status).toBe(200);
    }
    const seen = await orthanc.seenRequests();
    // At most once: an earlier search may already have confirmed this study through the same cache.
    expect(seen.filter((request) => request === 'POST /tools/lookup').length).toBeLessThanOrEqual(1);
    expect(seen.filter((request) => request.endsWith('/metadata'))).toHaveLength(3);
  });

  it('lets the bypass role read any study', async () => {
    const response = await get(byInstitution, `/pacs/dicom-web/studies/${foreign().studyInstanceUid}/metadata`, await issuer.token('root', ['pacs-admin']));
    expect(response.status).toBe(200);
  });
});

describe('what cannot be confined to studies is refused to restricted users', () => {
  it('refuses uploads (STOW-RS) unless the role bypasses, and nothing reaches Orthanc', async () => {
    const { body, contentType } = stowBody(makeSeries({ modality: 'CT', patientName: 'X', patientId: 'HA-9', institutionName: 'Hospital A', instances: 1, rows: 8, columns: 8 }).files);
    await orthanc.clearSeenRequests();
    const response = await fetch(`${byInstitution.url}/pacs/dicom-web/studies`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await institutionToken('Hospital A', UPLOADER)}`, 'content-type': contentType },
      body,
    });
    expect(response.status).toBe(403);
    expect(await orthanc.seenRequests()).toEqual([]);
  });

  it('refuses the admin API to an admin who does not bypass', async () => {
    const response = await fetch(`${byPatientPrefix.url}/pacs-admin/system`, { headers: { authorization: `Bearer ${await issuer.token('root', ['pacs-admin'])}` } });
    expect(response.status).toBe(403);
  });

  it('lets a restricted uploader share only studies it may see (unknown and not yours alike)', async () => {
    const token = await institutionToken('Hospital A', UPLOADER);
    const share = (study: Study) =>
      fetch(`${byInstitution.url}/auth/share`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ studyInstanceUID: study.studyInstanceUid }),
      });
    await expectStudyNotFound(await share(hospitalB[0]!));
    await expectStudyNotFound(await share({ ...hospitalB[0]!, studyInstanceUid: '1.2.3.404' }));
    expect((await share(hospitalA[0]!)).status).toBe(201);
  });
});

describe('by PatientID prefix, from a nested claim', () => {
  const prefixToken = (prefix: unknown, roles = VIEWER) => issuer.token('clinician', roles, { attributes: { patient_prefix: prefix } });

  it('lists the studies of the patients with that prefix', async () => {
    expect(await studyUids(byPatientPrefix, '', await prefixToken('HB-'))).toEqual(inOrthancOrder(hospitalB));
    expect(await studyUids(byPatientPrefix, '?limit=1&offset=1', await prefixToken(['HA-2', 'HA-3']))).toEqual(inOrthancOrder(hospitalA.slice(1)).slice(1, 2));
    expect(await studyUids(byPatientPrefix, '', await prefixToken(''))).toEqual([]);
    const series = await get(byPatientPrefix, '/pacs/dicom-web/series', await prefixToken(['HB-']));
    expect(tagValues(await series.json(), '0020000E').sort()).toEqual(hospitalB.map((study) => study.seriesInstanceUid).sort());
  });

  it('reads by prefix, refuses the others', async () => {
    const token = await prefixToken('HA-');
    expect((await get(byPatientPrefix, `/pacs/dicom-web/studies/${hospitalA[2]!.studyInstanceUid}/metadata`, token)).status).toBe(200);
    await expectStudyNotFound(await get(byPatientPrefix, `/pacs/instances/${hospitalB[1]!.orthancInstanceId}/preview`, token, '*/*'));
  });

  it('lets the configured bypass role see everything', async () => {
    expect(await studyUids(byPatientPrefix, '', await issuer.token('auditor', ['pacs-viewer', 'pacs-auditor']))).toEqual(orthancOrder);
  });
});

describe('Orthanc’s LimitFindResults bounds what the gateway can filter (documented trade-off)', () => {
  let capped: TestOrthanc;
  let gateway: TestGateway;

  beforeAll(async () => {
    // Orthanc 1.10 caps the database lookup (LimitFindResults + 1 candidates) before offset and
    // before matching tags it does not index, such as InstitutionName: paging upstream cannot reach past it.
    capped = await startOrthanc({ extraConfig: { LimitFindResults: 2 } });
    for (const id of ['CB-1', 'CB-2', 'CB-3']) await seed('Hospital B', id, capped);
    for (const id of ['CA-1', 'CA-2']) await seed('Hospital A', id, capped);
    gateway = await startTestGateway({
      OIDC_ISSUER: issuer.issuer,
      ORTHANC_URL: capped.url,
      ORTHANC_USERNAME: capped.username,
      ORTHANC_PASSWORD: capped.password,
      STUDY_ACCESS_CLAIM: 'institution',
    });
  }, 60_000);

  afterAll(async () => {
    await gateway?.close();
    await capped?.stop();
  });

  it('a user whose studies lie beyond the cap sees none of them, and Orthanc itself cannot page there', async () => {
    expect(await studyUids(gateway, '', await institutionToken('Hospital A'))).toEqual([]);
    expect(tagValues(await (await orthancFetch(capped, '/dicom-web/studies?offset=3')).json(), '0020000D')).toEqual([]);
    expect(tagValues(await (await orthancFetch(capped, '/dicom-web/studies?InstitutionName=Hospital%20A')).json(), '0020000D')).toEqual([]);
  });

  it('a user whose studies come first sees them', async () => {
    expect((await studyUids(gateway, '', await institutionToken('Hospital B'))).length).toBeGreaterThan(0);
  });
});

describe('browser sessions: the groups claim of the dev IdP’s access token (Keycloak group membership mapper)', () => {
  let stack: SessionStack;
  const sessionA: Study[] = [];
  const sessionB: Study[] = [];

  beforeAll(async () => {
    stack = await startSessionStack({ env: { STUDY_ACCESS_CLAIM: 'groups' } });
    for (const id of ['SA-1', 'SA-2']) sessionA.push(await seed('Hospital A', id, stack.orthanc));
    sessionB.push(await seed('Hospital B', 'SB-1', stack.orthanc));
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
  });

  const signedIn = (username: string) => signedInBrowser(stack.gateways[0]!.url, username);
  const read = (browser: Browser, path: string, accept = ACCEPT_DICOM_JSON) =>
    browser.request(`${stack.gateways[0]!.url}${path}`, { headers: { accept } });
  const listed = async (browser: Browser) => tagValues(await (await read(browser, '/pacs/dicom-web/studies')).json(), '0020000D');

  it('viewer-a (group Hospital A) lists only Hospital A studies and reads them', async () => {
    const viewerA = await signedIn('viewer-a');
    expect((await listed(viewerA)).sort()).toEqual(uidsOf(sessionA).sort());
    expect((await read(viewerA, `/pacs/dicom-web/studies/${sessionA[0]!.studyInstanceUid}/metadata`)).status).toBe(200);
  });

  it('viewer-a gets 404 on a Hospital B study, and Orthanc never sees the read', async () => {
    const viewerA = await signedIn('viewer-a');
    const foreign = sessionB[0]!;
    await stack.orthanc.clearSeenRequests();
    const wado = await read(viewerA, `/pacs/dicom-web/studies/${foreign.studyInstanceUid}/series/${foreign.seriesInstanceUid}/instances/${foreign.sopInstanceUids[0]}`, '*/*');
    await expectStudyNotFound(wado);
    expect(onlyLookups(await stack.orthanc.seenRequests())).toBe(true);
  });

  it('a page load of a Hospital B study and of an unknown study get the same 404 page', async () => {
    const viewerA = await signedIn('viewer-a');
    const cookie = `gw-session=${viewerA.cookie('gw-session')}`;
    const page = async (studyUid: string) => {
      // rawRequest: fetch() would replace Sec-Fetch-Mode with "cors".
      const response = await rawRequest(stack.gateways[0]!.url, `/pacs/dicom-web/studies/${studyUid}/metadata`, {
        headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate', cookie },
      });
      expect(response.status).toBe(404);
      expect(response.headers['content-type']).toMatch(/^text\/html/);
      return response.body.replace(/Request [0-9a-f-]+/, 'Request …');
    };
    const foreign = await page(sessionB[0]!.studyInstanceUid);
    expect(foreign).toContain('No such study, or not one you may see');
    expect(await page('1.2.3.404')).toBe(foreign);
  });

  it('viewer-b (group Hospital B) lists only the Hospital B study', async () => {
    expect(await listed(await signedIn('viewer-b'))).toEqual(uidsOf(sessionB));
  });

  it('a signed-in viewer without groups (no claim) sees no study and reads none', async () => {
    const viewer = await signedIn('viewer');
    expect(await listed(viewer)).toEqual([]);
    expect((await read(viewer, `/pacs/dicom-web/studies/${sessionA[0]!.studyInstanceUid}/metadata`)).status).toBe(403);
  });

  it('a signed-in admin (bypass role, no groups) sees and reads every study', async () => {
    const admin = await signedIn('admin');
    expect((await listed(admin)).sort()).toEqual(uidsOf([...sessionA, ...sessionB]).sort());
    expect((await read(admin, `/pacs/dicom-web/studies/${sessionB[0]!.studyInstanceUid}/metadata`)).status).toBe(200);
  });
});
