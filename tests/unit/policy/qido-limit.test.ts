import { describe, expect, it } from '@jest/globals';
import { clampQidoLimit, isQidoSearch } from '../../../src/policy/qido-limit.js';
import { queryOf, routeFor as route, serialized } from '../../support/routes.js';

describe('isQidoSearch', () => {
  it.each([
    ['GET', '/pacs/dicom-web/studies', true],
    ['HEAD', '/pacs/dicom-web/studies', true],
    ['GET', '/pacs/dicom-web/series', true],
    ['GET', '/pacs/dicom-web/instances', true],
    ['GET', '/pacs/dicom-web/studies/1.2/series', true],
    ['GET', '/pacs/dicom-web/studies/1.2/instances', true],
    ['GET', '/pacs/dicom-web/studies/1.2/series/3.4/instances', true],
    ['GET', '/pacs/dicom-web/studies/1.2', false],
    ['GET', '/pacs/dicom-web/studies/1.2/metadata', false],
    ['GET', '/pacs/dicom-web/studies/1.2/series/3.4', false],
    ['GET', '/pacs/dicom-web/studies/1.2/series/3.4/instances/5.6', false],
    ['GET', '/pacs/dicom-web/studies/1.2/series/3.4/instances/5.6/frames/1', false],
    ['POST', '/pacs/dicom-web/studies', false],
    ['GET', '/pacs/wado?requestType=WADO&studyUID=1.2&seriesUID=3&objectUID=4', false],
    ['GET', '/pacs-admin/studies', false],
    ['GET', '/pacs-admin/instances', false],
  ])('%s %s → %s', (method, target, expected) => {
    expect(isQidoSearch(route(method, target))).toBe(expected);
  });
});

describe('clampQidoLimit (maximum 100)', () => {
  it.each([
    ['no query', '', 'limit=100'],
    ['no limit', 'PatientID=P1&includefield=00081030', 'PatientID=P1&includefield=00081030&limit=100'],
    ['a smaller limit is kept', 'limit=25&offset=50', 'offset=50&limit=25'],
    ['the maximum itself', 'limit=100', 'limit=100'],
    ['a larger limit is reduced', 'limit=101', 'limit=100'],
    ['a huge limit', 'limit=99999999999999999999999', 'limit=100'],
    ['0 (Orthanc: no limit)', 'limit=0', 'limit=100'],
    ['leading zeros', 'limit=007', 'limit=7'],
    ['a percent-encoded value', 'limit=%35', 'limit=5'],
    ['other names are not limit (Orthanc reads the exact name)', 'LIMIT=5', 'LIMIT=5&limit=100'],
    ['other parameters keep their order, canonically encoded', 'PatientName=Doe%5EJ*&StudyDate=20200101-', 'PatientName=Doe^J*&StudyDate=20200101-&limit=100'],
    ['empty pairs are dropped', '&&limit=3&', 'limit=3'],
  ])('%s: %j → %j', (_name, query, expected) => {
    const clamp = clampQidoLimit(queryOf(query), 100);
    expect(clamp.ok && serialized(clamp.query)).toBe(expected);
  });

  it.each([
    ['repeated (Orthanc would take the last)', 'limit=1&limit=5000'],
    ['negative (Orthanc: 4294967295)', 'limit=-1'],
    ['a sign', 'limit=+3'],
    ['not a number', 'limit=abc'],
    ['a fraction', 'limit=1.5'],
    ['empty', 'limit='],
    ['no value', 'limit'],
    ['a space', 'limit=%203'],
  ])('%s: %j → refused', (_name, query) => {
    expect(clampQidoLimit(queryOf(query), 100)).toMatchObject({ ok: false, reason: expect.stringContaining('"limit"') });
  });
});
