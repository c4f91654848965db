import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { makeSeries, type GeneratedSeries } from '../support/dicom.js';
import { ACCEPT_DICOM_JSON } from '../support/dicomweb.js';
import { Browser } from '../support/http-browser.js';
import { uploadInstances } from '../support/orthanc.js';
import { gatewayClientTokens, signIn, startSessionStack, type SessionStack } from '../support/session-stack.js';

/**
 * "Who saw this study?" from a real gateway run (dev IdP, Orthanc, Redis): the hash-chained audit
 * file carries the patient of each study (looked up from Orthanc, never in the request log), the
 * admin-only route and `npm run audit -- who-saw` answer from it, and `verify` accepts it.
 */
type Line = Record<string, unknown>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let stack: SessionStack;
let file: string;
let study: GeneratedSeries;
let other: GeneratedSeries;
const tokens = { viewer: '', admin: '' };

const fileRecords = (): Line[] => readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Line);

/** The audit file line of a request (written shortly after its response: the patient is looked up first). */
async function recordOf(requestId: string): Promise<Line> {
  for (let waited = 0; waited < 5000; waited += 50) {
    const found = fileRecords().find((line) => line['requestId'] === requestId);
    if (found) return found;
    await sleep(50);
  }
  throw new Error(`no audit record for ${requestId}`);
}

async function get(path: string, token: string, accept = 'application/json'): Promise<{ status: number; requestId: string; body: string; type: string | null }> {
  const response = await fetch(`${stack.publicUrl}${path}`, { headers: { authorization: `Bearer ${token}`, accept } });
  return { status: response.status, requestId: response.headers.get('x-request-id') ?? '', body: await response.text(), type: response.headers.get('content-type') };
}

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, ['scripts/audit.mjs', ...args], { encoding: 'utf8' });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

beforeAll(async () => {
  file = join(mkdtempSync(join(tmpdir(), 'audit-trail-')), 'audit.log');
  stack = await startSessionStack({ env: { AUDIT_LOG_FILE: file, AUDIT_ANCHOR_RECORDS: '5', AUDIT_SOURCE_ID: 'gw-test' } });
  study = makeSeries({ modality: 'CT', patientName: 'Who^Saw', patientId: 'P-WHO-SAW', instances: 1, rows: 8, columns: 8 });
  other = makeSeries({ modality: 'MR', patientName: 'Other^Pat', patientId: 'P-OTHER', instances: 1, rows: 8, columns: 8 });
  await uploadInstances(stack.orthanc, [...study.files, ...other.files]);
  tokens.viewer = (await gatewayClientTokens(stack, 'viewer')).access_token;
  tokens.admin = (await gatewayClientTokens(stack, 'admin')).access_token;
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

describe('the hash-chained audit file of a real gateway run', () => {
  let viewerRead: string;

  it('records a study read with the user and the study’s patient from Orthanc', async () => {
    const read = await get(`/pacs/dicom-web/studies/${study.studyInstanceUid}/metadata`, tokens.viewer, ACCEPT_DICOM_JSON);
    expect(read.status).toBe(200);
    viewerRead = read.requestId;
    expect(await recordOf(read.requestId)).toMatchObject({
      log: 'audit', event: 'access', action: 'retrieve', studyUid: study.studyInstanceUid,
      user: { sub: expect.any(String), username: 'viewer' },
      patients: [{ studyUid: study.studyInstanceUid, id: 'P-WHO-SAW', name: 'Who^Saw' }],
      seq: expect.any(Number), prev: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    // The patient goes to the audit file only: never to the request log.
    expect(JSON.stringify(stack.logs.lines)).not.toMatch(/P-WHO-SAW|Who\^Saw/);
  });

  it('leaves the patient out for a study Orthanc does not know, and finds it once it is there (not cached)', async () => {
    const later = makeSeries({ modality: 'CT', patientName: 'Later^Pat', patientId: 'P-LATER', instances: 1, rows: 8, columns: 8 });
    const before = await get(`/pacs/dicom-web/studies/${later.studyInstanceUid}/metadata`, tokens.viewer, ACCEPT_DICOM_JSON);
    expect(before.status).toBe(404);
    const unknown = await recordOf(before.requestId);
    expect([unknown['studyUid'], unknown['patients']]).toEqual([later.studyInstanceUid, undefined]);
    await uploadInstances(stack.orthanc, later.files);
    const after = await get(`/pacs/dicom-web/studies/${later.studyInstanceUid}/metadata`, tokens.viewer, ACCEPT_DICOM_JSON);
    expect(after.status).toBe(200);
    expect((await recordOf(after.requestId))['patients']).toEqual([{ studyUid: later.studyInstanceUid, id: 'P-LATER', name: 'Later^Pat' }]);
  });

  it('records a browser sign-in and a study of another patient', async () => {
    const browser = new Browser();
    await signIn(browser, stack.publicUrl, 'viewer');
    const read = await get(`/pacs/dicom-web/studies/${other.studyInstanceUid}/series`, tokens.viewer);
    expect(read.status).toBe(200);
    expect(await recordOf(read.requestId)).toMatchObject({ action: 'search', patients: [expect.objectContaining({ id: 'P-OTHER' })] });
    expect(fileRecords().some((line) => line['event'] === 'login' && (line['user'] as Line)['username'] === 'viewer')).toBe(true);
  });

  it('GET /pacs-admin/audit answers admins: who saw a study, a patient, what a user opened', async () => {
    const byStudy = await get(`/pacs-admin/audit?study=${study.studyInstanceUid}`, tokens.admin);
    expect(byStudy.status).toBe(200);
    const sightings = (JSON.parse(byStudy.body) as { sightings: Line[] }).sightings;
    expect(sightings).toEqual([expect.objectContaining({ user: 'viewer', outcome: 'access', action: 'retrieve', status: 200, patients: 'P-WHO-SAW (Who^Saw)', requestId: viewerRead, clientIp: expect.any(String) })]);

    const byPatient = JSON.parse((await get('/pacs-admin/audit?patient=P-OTHER', tokens.admin)).body) as { sightings: Line[] };
    expect(byPatient.sightings.map((sighting) => sighting['studies'])).toEqual([other.studyInstanceUid]);

    const byUser = JSON.parse((await get('/pacs-admin/audit?user=viewer', tokens.admin)).body) as { sightings: Line[] };
    expect(byUser.sightings.map((sighting) => sighting['studies'])).toEqual([study.studyInstanceUid, expect.any(String), expect.any(String), other.studyInstanceUid]);

    const future = JSON.parse((await get(`/pacs-admin/audit?user=viewer&from=${new Date(Date.now() + 3_600_000).toISOString()}`, tokens.admin)).body) as { sightings: Line[] };
    expect(future.sightings).toEqual([]);

    const csv = await get(`/pacs-admin/audit?study=${study.studyInstanceUid}&format=csv`, tokens.admin);
    expect(csv.type).toMatch(/^text\/csv/);
    expect(csv.body.split('\r\n')[0]).toBe('time,user,sub,clientIp,outcome,action,status,studies,patients,path,requestId');
    expect(csv.body).toContain('P-WHO-SAW (Who^Saw)');
  });

  it('refuses the route to non-admins (policy) and ambiguous questions (400)', async () => {
    const viewer = await get(`/pacs-admin/audit?study=${study.studyInstanceUid}`, tokens.viewer);
    expect([viewer.status, JSON.parse(viewer.body)]).toEqual([403, expect.objectContaining({ error: 'forbidden', requestId: viewer.requestId })]);
    for (const query of [`study=${study.studyInstanceUid}&study=1.2.3`, 'study=1.2&user=viewer', 'studies=1.2', '', 'user=viewer&from=yesterday', 'user=viewer&format=xml']) {
      const answer = await get(`/pacs-admin/audit?${query}`, tokens.admin);
      expect([query, answer.status, JSON.parse(answer.body)]).toEqual([query, 400, expect.objectContaining({ error: 'bad_request' })]);
    }
  });

  it('npm run audit -- who-saw answers from the file, as a table or CSV', () => {
    const table = cli('who-saw', '--file', file, '--study', study.studyInstanceUid);
    expect(table.status).toBe(0);
    const rows = table.stdout.trim().split('\n');
    expect(rows).toHaveLength(2);
    expect(rows[1]).toMatch(/viewer .* access .* retrieve .* 200 .* P-WHO-SAW \(Who\^Saw\)/);

    const csv = cli('who-saw', '--file', file, '--patient', 'P-WHO-SAW', '--csv', '--from', '2000-01-01', '--to', new Date(Date.now() + 60_000).toISOString());
    expect(csv.stdout.trim().split('\r\n')).toEqual([expect.stringMatching(/^time,user/), expect.stringContaining(viewerRead)]);

    const mine = cli('who-saw', '--file', file, '--user', 'viewer', '--csv');
    expect(mine.stdout).toContain(study.studyInstanceUid);
    expect(mine.stdout).toContain(other.studyInstanceUid);

    expect(cli('who-saw', '--file', file).status).toBe(2);
    expect(cli('who-saw', '--file', file, '--user', 'viewer', '--from', 'soon').stderr).toContain('from must be an ISO 8601 time');
  });

  it('the file verifies, and its periodic anchors are witnessed in the gateway log', async () => {
    await sleep(200);
    const verified = cli('verify', file);
    expect(verified.stdout).toMatch(/^OK: \d+ records \(\d+ anchors\), chain intact/);
    expect(verified.status).toBe(0);
    const anchors = fileRecords().filter((line) => line['event'] === 'anchor');
    expect(anchors.length).toBeGreaterThanOrEqual(2);
    const witnessed = stack.logs.lines.filter((line) => line['msg'] === 'audit chain anchor').map((line) => (line['auditAnchor'] as Line)['seq']);
    expect(witnessed).toEqual(anchors.map((anchor) => anchor['seq']));
    // The gateway's own log as the witness file: the whole file checks out; cut after its last anchor, not.
    const log = join(mkdtempSync(join(tmpdir(), 'audit-app-log-')), 'gateway.log');
    writeFileSync(log, stack.logs.lines.map((line) => JSON.stringify(line)).join('\n') + '\n');
    expect(cli('verify', file, '--anchors-from', log)).toMatchObject({ status: 0, stdout: expect.stringMatching(new RegExp(`chain intact, all ${anchors.length} witnessed records present`)) });
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    const lastAnchor = lines.findLastIndex((line) => line.includes('"event":"anchor"'));
    const cut = join(mkdtempSync(join(tmpdir(), 'audit-cut-')), basename(file));
    writeFileSync(cut, lines.slice(0, lastAnchor).join('\n') + '\n');
    expect(cli('verify', cut, '--anchors-from', log)).toMatchObject({ status: 1, stdout: expect.stringMatching(/is missing: records were cut off the end of the file/) });
  });
});
