import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { auditEventOf, auditLines } from '../support/audit-events.js';
import { makeSeries, type GeneratedSeries } from '../support/dicom.js';
import { tagValues } from '../support/dicomweb.js';
import { Browser } from '../support/http-browser.js';
import { orthancFetch, uploadInstances } from '../support/orthanc.js';
import { waitFor } from '../support/process.js';
import { rawRequest, type RawResponse } from '../support/raw-http.js';
import { signIn, startSessionStack, type SessionStack } from '../support/session-stack.js';

/**
 * Issue 14, items 1 and 2, end to end with the real Orthanc 1.10 + DICOMweb plugin, Redis and the
 * dev IdP: a request Orthanc could read differently from the gateway (repeated, empty, re-cased or
 * encoded parameters, `;`, method overrides) is refused with the gateway's 400 before policy runs,
 * and nothing of it reaches Orthanc. Every case also shows that the trick works on Orthanc itself,
 * so the refusal is what protects the study (the test would fail if the gateway forwarded it).
 *
 * Users: viewer-a is restricted to "Hospital A" studies by STUDY_ACCESS_CLAIM=groups; a share-link
 * recipient is restricted to the shared study; admin is signed in with a session cookie.
 */
interface Study extends GeneratedSeries {
  patientId: string;
}

let stack: SessionStack;
let gatewayUrl: string;
let allowed: Study; // Hospital A, and the shared study
let foreign: Study; // Hospital B
let victim: Study; // an admin's target for method overrides
let victimPatient: string;
let recipientCookie: string;
let viewerACookie: string;
let adminCookie: string;

async function seed(institutionName: string, patientId: string): Promise<Study & { orthancPatient: string }> {
  const series = makeSeries({ modality: 'CT', patientName: 'Canonical^Test', patientId, institutionName, instances: 1, rows: 16, columns: 16 });
  const [result] = await uploadInstances(stack.orthanc, series.files);
  return { ...series, patientId, orthancPatient: result!.ParentPatient };
}

async function sessionCookie(username: string): Promise<string> {
  const browser = new Browser();
  const step = await signIn(browser, gatewayUrl, username);
  if (step.kind !== 'page' || step.status !== 200) throw new Error(`sign-in as ${username} failed`);
  return `gw-session=${browser.cookie('gw-session')}`;
}

async function shareRecipientCookie(studyUid: string): Promise<string> {
  const uploader = new Browser();
  await signIn(uploader, gatewayUrl, 'uploader');
  const created = await uploader.request(`${gatewayUrl}/auth/share`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: gatewayUrl, accept: 'application/json' },
    body: JSON.stringify({ studyInstanceUID: studyUid }),
  });
  const { url } = (await created.json()) as { url: string };
  const recipient = new Browser();
  expect((await recipient.request(url.replace(stack.publicUrl, gatewayUrl))).status).toBe(302);
  return `gw-session=${recipient.cookie('gw-session')}`;
}

/** The request target exactly as written (fetch() would re-encode it). */
const send = (target: string, cookie: string, headers: Record<string, string> = {}, method = 'GET') =>
  rawRequest(gatewayUrl, target, { method, headers: { accept: '*/*', cookie, ...headers } });

function expectRefused(response: RawResponse, reason: RegExp): void {
  expect(response.status).toBe(400);
  const body = JSON.parse(response.body) as Record<string, unknown>;
  expect(body).toEqual({ error: 'bad_request', message: expect.stringMatching(reason), requestId: expect.any(String) });
}

const wado = (study: { studyUID: string; seriesUID: string; objectUID: string }) =>
  `requestType=WADO&studyUID=${study.studyUID}&seriesUID=${study.seriesUID}&objectUID=${study.objectUID}`;
const uidsOf = (study: Study) => ({ studyUID: study.studyInstanceUid, seriesUID: study.seriesInstanceUid, objectUID: study.sopInstanceUids[0]! });

/** What Orthanc answers to this WADO-URI query when asked directly: proves a trick would work there. */
const orthancWado = async (query: string) => (await orthancFetch(stack.orthanc, `/wado?${query}`)).status;

beforeAll(async () => {
  stack = await startSessionStack({
    env: { STUDY_ACCESS_CLAIM: 'groups', STUDY_ACCESS_BYPASS_ROLES: 'pacs-uploader,pacs-admin' },
    orthanc: { verboseLog: true }, // shows the arguments Orthanc's DICOMweb plugin received
  });
  gatewayUrl = stack.gateways[0]!.url;
  allowed = await seed('Hospital A', 'P-CANON-A');
  foreign = await seed('Hospital B', 'P-CANON-B');
  const seededVictim = await seed('Hospital B', 'P-CANON-VICTIM');
  victim = seededVictim;
  victimPatient = seededVictim.orthancPatient;
  [recipientCookie, viewerACookie, adminCookie] = await Promise.all([shareRecipientCookie(allowed.studyInstanceUid), sessionCookie('viewer-a'), sessionCookie('admin')]);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

type Uids = ReturnType<typeof uidsOf>;

/** WADO-URI queries that name the allowed study (a) to the gateway's first reading and fetch the foreign instance (b) from Orthanc. */
const WADO_TRICKS: Array<[string, (a: Uids, b: Uids) => string, RegExp]> = [
  ['studyUID repeated: allowed first, foreign last (Orthanc reads the last)', (a, b) => `${wado({ ...b, studyUID: a.studyUID })}&studyUID=${b.studyUID}`, /"studyUID" is given more than once/],
  ['objectUID repeated: allowed first, foreign last', (a, b) => `${wado(a)}&objectUID=${b.objectUID}`, /"objectUID" is given more than once/],
  ['seriesUID repeated', (a, b) => `${wado({ ...b, seriesUID: a.seriesUID })}&seriesUID=${b.seriesUID}`, /"seriesUID" is given more than once/],
  ['empty studyUID (Orthanc then skips its study check)', (_a, b) => wado({ ...b, studyUID: '' }), /"studyUID" must be one DICOM UID/],
  ['no studyUID at all', (_a, b) => `requestType=WADO&seriesUID=${b.seriesUID}&objectUID=${b.objectUID}`, /"studyUID" is required/],
  ['a re-cased second studyUID', (a, b) => `${wado({ ...b, studyUID: a.studyUID })}&StudyUID=${b.studyUID}`, /"StudyUID" must be spelled "studyUID"/],
  [
    'a percent-encoded name (Orthanc 1.10 does not decode it, so it skips the study check)',
    (a, b) => `requestType=WADO&%73tudyUID=${a.studyUID}&seriesUID=${b.seriesUID}&objectUID=${b.objectUID}`,
    /plain/,
  ],
  ['";" between two studyUIDs', (a, b) => wado({ ...b, studyUID: `${a.studyUID};studyUID=${b.studyUID}` }), /";"/],
];

describe('WADO-URI tricks against a study-restricted user', () => {
  it('the foreign instance is really there: Orthanc itself serves it to the tricks below', async () => {
    const a = uidsOf(allowed);
    const b = uidsOf(foreign);
    expect(await orthancWado(`${wado({ ...b, studyUID: a.studyUID })}&studyUID=${b.studyUID}`)).toBe(200);
    expect(await orthancWado(wado({ ...b, studyUID: '' }))).toBe(200);
    expect(await orthancWado(`requestType=WADO&%73tudyUID=${a.studyUID}&seriesUID=${b.seriesUID}&objectUID=${b.objectUID}`)).toBe(200);
  });

  it('the allowed study is served to both users (the tricks are refused for what they are, not for the user)', async () => {
    for (const cookie of [recipientCookie, viewerACookie]) {
      const response = await send(`/pacs/wado?${wado(uidsOf(allowed))}&contentType=application/dicom`, cookie);
      expect(response.status).toBe(200);
    }
  });

  it('the audit event names exactly the study, series and instance Orthanc served', async () => {
    const response = await send(`/pacs/wado?${wado(uidsOf(allowed))}`, recipientCookie);
    expect(response.status).toBe(200);
    expect(await auditEventOf(String(response.headers['x-request-id']), stack.logs)).toMatchObject({
      event: 'access',
      routeClass: 'wado-uri',
      method: 'GET',
      studyUid: allowed.studyInstanceUid,
      seriesUid: allowed.seriesInstanceUid,
      instanceUid: allowed.sopInstanceUids[0],
    });
  });

  describe.each([
    ['a share-link recipient', () => recipientCookie],
    ['a user restricted by STUDY_ACCESS_CLAIM', () => viewerACookie],
  ])('%s', (_who, cookie) => {
    it.each(WADO_TRICKS)('%s: 400 before policy, nothing reaches Orthanc, no access audited', async (_trick, query, reason) => {
      await stack.orthanc.clearSeenRequests();
      const response = await send(`/pacs/wado?${query(uidsOf(allowed), uidsOf(foreign))}`, cookie());
      expectRefused(response, reason);
      expect(await stack.orthanc.seenRequests()).toEqual([]);
      expect(auditLines(stack.logs).filter((line) => line['requestId'] === response.headers['x-request-id'])).toEqual([]);
    });
  });
});

describe('QIDO-RS parameters read twice or under another spelling', () => {
  it.each([
    ['limit repeated (Orthanc reads the last)', 'limit=1&limit=5000', /"limit" is given more than once/],
    ['a re-cased limit', 'Limit=5000', /must be spelled "limit"/],
    ['an encoded limit', '%6Cimit=5000', /plain/],
    ['a study filter under keyword and tag (Orthanc: one filter, the last wins)', `StudyInstanceUID=${'1.2.3'}&0020000D=${'4.5.6'}`, /two spellings/],
    ['";" in a filter', 'PatientID=P-CANON-A;PatientID=P-CANON-B', /";"/],
    ['_method on a search', '_method=DELETE', /_method/],
  ])('%s: 400, nothing reaches Orthanc', async (_name, query, reason) => {
    await stack.orthanc.clearSeenRequests();
    expectRefused(await send(`/pacs/dicom-web/studies?${query}`, viewerACookie, { accept: 'application/dicom+json' }), reason);
    expect(await stack.orthanc.seenRequests()).toEqual([]);
  });

  it('a share-link recipient searching with a repeated StudyInstanceUID gets a 400, not the foreign study', async () => {
    const query = `StudyInstanceUID=${allowed.studyInstanceUid}&StudyInstanceUID=${foreign.studyInstanceUid}`;
    expectRefused(await send(`/pacs/dicom-web/studies?${query}`, recipientCookie, { accept: 'application/dicom+json' }), /more than once/);
  });

  it('a search below the shared study that filters on another study is refused (path and query would both name one)', async () => {
    await stack.orthanc.clearSeenRequests();
    const target = `/pacs/dicom-web/studies/${allowed.studyInstanceUid}/series?StudyInstanceUID=${foreign.studyInstanceUid}`;
    expectRefused(await send(target, recipientCookie, { accept: 'application/dicom+json' }), /what the path already names/);
    expect(await stack.orthanc.seenRequests()).toEqual([]);
  });

  it('a share-link recipient\'s search for another study runs, and is audited, as a search of the shared study', async () => {
    await stack.orthanc.clearSeenRequests();
    const response = await send(`/pacs/dicom-web/studies?StudyInstanceUID=${foreign.studyInstanceUid}`, recipientCookie, { accept: 'application/dicom+json' });
    expect(response.status).toBe(200);
    expect(tagValues(JSON.parse(response.body), '0020000D')).toEqual([allowed.studyInstanceUid]);
    expect(await stack.orthanc.seenRequests()).toEqual(['GET /dicom-web/studies']);
    expect(await auditEventOf(String(response.headers['x-request-id']), stack.logs)).toMatchObject({ action: 'search', studyUid: allowed.studyInstanceUid });
  });

  it('OHIF-style searches still work: comma includefield lists, paging, fuzzy matching', async () => {
    const response = await send('/pacs/dicom-web/studies?limit=101&offset=0&fuzzymatching=false&includefield=00081030%2C00080060&PatientID=P-CANON-A', viewerACookie, {
      accept: 'application/dicom+json',
    });
    expect(response.status).toBe(200);
    expect(tagValues(JSON.parse(response.body), '0020000D')).toEqual([allowed.studyInstanceUid]);
  });
});

describe('what Orthanc receives is the canonical query, written so Orthanc 1.10 reads it as the gateway did', () => {
  /** The arguments of the next QIDO-RS request Orthanc's plugin logs. */
  async function argumentsOfSearch(query: string): Promise<{ status: number; received: string[]; studies: unknown[] }> {
    const seenBefore = (await stack.orthanc.qidoArguments()).length;
    const response = await send(`/pacs/dicom-web/studies?${query}`, adminCookie, { accept: 'application/dicom+json' });
    await waitFor(async () => (await stack.orthanc.qidoArguments()).length > seenBefore, { what: 'Orthanc logging the QIDO-RS arguments', timeoutMs: 5000 });
    const received = (await stack.orthanc.qidoArguments()).slice(seenBefore);
    expect(received).toHaveLength(1);
    return { status: response.status, received: received[0]!, studies: tagValues(JSON.parse(response.body), '0020000D') };
  }

  it('an escaped "^" and an escaped comma list arrive decoded (Orthanc 1.10 would read "%5E" literally and match nothing)', async () => {
    const { status, received, studies } = await argumentsOfSearch('PatientName=Canonical%5ETest*&PatientID=P-CANON-A&includefield=00081030%2C00080060');
    expect(status).toBe(200);
    expect(received).toEqual(['PatientName=Canonical^Test*', 'PatientID=P-CANON-A', 'includefield=00081030', 'includefield=00080060']);
    expect(studies).toEqual([allowed.studyInstanceUid]);
  });

  it('"+" is a space to the gateway and is sent escaped, never as a "+" Orthanc 1.10 would keep', async () => {
    const { received } = await argumentsOfSearch('PatientName=Canonical+Test&PatientID=P-CANON-A');
    expect(received).toEqual(['PatientName=Canonical%20Test', 'PatientID=P-CANON-A']);
  });
});

describe('method overrides never reach Orthanc', () => {
  const patientExists = async () => (await orthancFetch(stack.orthanc, `/patients/${victimPatient}`)).status;

  it('Orthanc itself honours _method on a GET (the threat is real)', async () => {
    const throwaway = await seed('Hospital B', 'P-CANON-THROWAWAY');
    expect((await orthancFetch(stack.orthanc, `/patients/${throwaway.orthancPatient}?_method=DELETE`)).status).toBe(200);
    expect((await orthancFetch(stack.orthanc, `/patients/${throwaway.orthancPatient}`)).status).toBe(404);
  });

  it.each([
    ['_method=DELETE', '?_method=DELETE'],
    ['_METHOD=delete', '?_METHOD=delete'],
    ['_method after other arguments', '?expand&_method=DELETE'],
  ])('a signed-in admin\'s cross-site GET /pacs-admin/patients/{id} with %s: 400, the patient still exists', async (_name, query) => {
    await stack.orthanc.clearSeenRequests();
    // A cross-site top-level navigation: what a link on another site makes the admin's browser send.
    const response = await send(`/pacs-admin/patients/${victimPatient}${query}`, adminCookie, {
      accept: 'text/html',
      'sec-fetch-mode': 'navigate',
      'sec-fetch-site': 'cross-site',
    });
    expect(response.status).toBe(400);
    expect(await stack.orthanc.seenRequests()).toEqual([]);
    expect(await patientExists()).toBe(200);
  });

  it.each(['X-HTTP-Method-Override', 'X-HTTP-Method', 'X-Method-Override', 'x-http-method-override'])(
    'the %s header on an admin GET: 400, the patient still exists',
    async (header) => {
      await stack.orthanc.clearSeenRequests();
      expectRefused(await send(`/pacs-admin/patients/${victimPatient}`, adminCookie, { [header]: 'DELETE', accept: 'application/json' }), /method override/);
      expect(await stack.orthanc.seenRequests()).toEqual([]);
      expect(await patientExists()).toBe(200);
    },
  );

  it.each([
    ['_method=DELETE on a DICOMweb read', () => `/pacs/dicom-web/studies/${victim.studyInstanceUid}?_method=DELETE`],
    ['_method=DELETE on WADO-URI (Orthanc: 405, it took the GET for a DELETE)', () => `/pacs/wado?${wado(uidsOf(victim))}&_method=DELETE`],
  ])('%s: 400 for the admin too, nothing reaches Orthanc', async (_name, target) => {
    await stack.orthanc.clearSeenRequests();
    expectRefused(await send(target(), adminCookie, { accept: 'application/json' }), /_method/);
    expect(await stack.orthanc.seenRequests()).toEqual([]);
  });

  it('the admin API still works without tricks', async () => {
    const response = await send(`/pacs-admin/patients/${victimPatient}`, adminCookie, { accept: 'application/json' });
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({ ID: victimPatient });
  });
});
