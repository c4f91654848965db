/**
 * "Who saw this study?": matching records of the audit file by study, patient, user and time, and
 * the CSV a privacy officer opens in a spreadsheet (RFC 4180, no formula injection).
 */
import { describe, expect, it } from '@jest/globals';
import { parseAuditLine, sighting, toCsv, whoSaw, whoSawQuery, WhoSawQueryError, type AuditFileRecord } from '../../../src/audit/who-saw.js';

const record = (overrides: Partial<AuditFileRecord>): string =>
  JSON.stringify({
    time: '2025-01-10T10:00:00.000Z', event: 'access', action: 'retrieve', user: { sub: 'sub-a', username: 'alice' }, via: 'bearer', method: 'GET',
    path: '/pacs/dicom-web/studies/1.2.3', status: 200, clientIp: '10.0.0.7', requestId: 'r1', studyUid: '1.2.3',
    patients: [{ studyUid: '1.2.3', id: 'P-1', name: 'Doe^Jane' }], seq: 1, prev: '0',
    ...overrides,
  });

async function* lines(...texts: string[]) {
  yield* texts;
}

const FILE = [
  JSON.stringify({ time: '2025-01-10T09:00:00.000Z', event: 'anchor', seq: 0, prev: '0' }),
  record({}),
  record({ time: '2025-01-11T10:00:00.000Z', requestId: 'r2', user: { sub: 'sub-b', username: 'bob' }, event: 'denied', action: 'denied', status: 403 }),
  record({ time: '2025-01-12T10:00:00.000Z', requestId: 'r3', studyUid: '1.2.3,4.5.6', patients: [{ studyUid: '4.5.6', id: 'P-2', name: undefined }] }),
  record({ time: '2025-01-13T10:00:00.000Z', requestId: 'r4', event: 'login', action: 'login' }),
  'not json',
];

describe('who-saw', () => {
  it.each([
    ['a study (also inside a UID list)', { study: '1.2.3' }, ['r1', 'r2', 'r3']],
    ['another study of a list', { study: '4.5.6' }, ['r3']],
    ['a patient', { patient: 'P-1' }, ['r1', 'r2']],
    ['a user by username', { user: 'bob' }, ['r2']],
    ['a user by sub', { user: 'sub-a' }, ['r1', 'r3']],
    ['a time range', { study: '1.2.3', from: '2025-01-11', to: '2025-01-11T23:59:59Z' }, ['r2']],
    ['nothing', { patient: 'P-9' }, []],
  ])('finds accesses and refusals of %s, oldest first (anchors, sign-ins and junk skipped)', async (_name, words, expected) => {
    const found = await whoSaw(lines(...FILE), whoSawQuery(words));
    expect(found.map((sighting) => sighting.requestId)).toEqual(expected);
  });

  it('refuses a question without exactly one subject, or with a bad time', () => {
    for (const words of [{}, { study: '1', user: 'a' }, { study: '' }, { user: 'a', from: 'yesterday' }]) expect(() => whoSawQuery(words)).toThrow(WhoSawQueryError);
  });

  it('writes CSV that spreadsheets read as text: quotes, commas, newlines, formulas', () => {
    const tricky = { ...parseAuditLine(record({}))!, user: { sub: 's', username: '=HYPERLINK("http://x","y")' }, path: '/a,b\n"c"' };
    const [header, row] = toCsv([sighting(tricky)]).split('\r\n');
    expect(header).toBe('time,user,sub,clientIp,outcome,action,status,studies,patients,path,requestId');
    expect(row).toContain(`"'=HYPERLINK(""http://x"",""y"")"`);
    expect(row).toContain('"/a,b\n""c"""');
  });
});
