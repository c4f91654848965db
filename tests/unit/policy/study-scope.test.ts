import { describe, expect, it } from '@jest/globals';
import { evaluate, type PolicyOptions } from '../../../src/policy/evaluate.js';
import { restrictQueryToStudy } from '../../../src/policy/study-scope.js';
import { queryOf, routeFor as route, serialized } from '../../support/routes.js';

const OPTIONS: PolicyOptions = { roles: { viewer: 'pacs-viewer', uploader: 'pacs-uploader', admin: 'pacs-admin' }, allowDangerous: true };
const SHARED = '1.2.3';
const OTHER = '4.5.6';
const recipient = { roles: [], studyScope: SHARED };

describe('a share-link recipient (study scope)', () => {
  it.each([
    ['GET', '/pacs/dicom-web/studies', { outcome: 'allow', restrictToStudy: SHARED }],
    ['GET', '/pacs/dicom-web/series?Modality=CT', { outcome: 'allow', restrictToStudy: SHARED }],
    ['GET', '/pacs/dicom-web/instances', { outcome: 'allow', restrictToStudy: SHARED }],
    ['GET', `/pacs/dicom-web/studies/${SHARED}`, { outcome: 'allow' }],
    ['GET', `/pacs/dicom-web/studies/${SHARED}/series`, { outcome: 'allow' }],
    ['GET', `/pacs/dicom-web/studies/${SHARED}/series/7.8/instances/9.1/frames/1`, { outcome: 'allow' }],
    ['HEAD', `/pacs/dicom-web/studies/${SHARED}/metadata`, { outcome: 'allow' }],
    ['GET', `/pacs/wado?requestType=WADO&studyUID=${SHARED}&seriesUID=7&objectUID=8`, { outcome: 'allow' }],
    // Another study is answered like an unknown one (404), not with a 403 that confirms it exists.
    ['GET', `/pacs/dicom-web/studies/${OTHER}/metadata`, { outcome: 'not-yours' }],
    ['GET', `/pacs/dicom-web/studies/${OTHER}/series/7.8`, { outcome: 'not-yours' }],
    ['GET', `/pacs/dicom-web/studies/${OTHER}/series/7.8/instances/9.1/frames/1`, { outcome: 'not-yours' }],
    ['GET', `/pacs/dicom-web/studies/${OTHER}/series`, { outcome: 'not-yours' }],
    ['GET', `/pacs/wado?requestType=WADO&studyUID=${OTHER}&seriesUID=7&objectUID=8`, { outcome: 'not-yours' }],
    // Refused whatever study they name: a role problem, the same for every UID.
    ['GET', '/pacs/wado?requestType=WADO&seriesUID=7&objectUID=8', { outcome: 'forbidden' }],
    ['GET', '/pacs/instances/0a1b2c3d-0a1b2c3d-0a1b2c3d-0a1b2c3d-0a1b2c3d/preview', { outcome: 'forbidden' }],
    ['POST', `/pacs/dicom-web/studies/${SHARED}`, { outcome: 'forbidden' }],
    ['POST', '/pacs/dicom-web/studies', { outcome: 'forbidden' }],
    ['GET', '/pacs-admin/system', { outcome: 'forbidden' }],
    ['POST', '/pacs-admin/tools/execute-script', { outcome: 'forbidden' }],
  ])('%s %s → %j', (method, target, expected) => {
    expect(evaluate(route(method, target), recipient, OPTIONS)).toMatchObject(expected);
  });

  it('ignores roles a scoped subject might carry', () => {
    expect(evaluate(route('GET', '/pacs-admin/system'), { roles: ['pacs-admin'], studyScope: SHARED }, OPTIONS).outcome).toBe('forbidden');
  });
});

describe('restrictQueryToStudy', () => {
  it.each([
    ['', 'StudyInstanceUID=1.2.3'],
    ['PatientID=P1&limit=10', 'PatientID=P1&limit=10&StudyInstanceUID=1.2.3'],
    ['StudyInstanceUID=9.9', 'StudyInstanceUID=1.2.3'],
    ['studyinstanceuid=9.9&StudyInstanceUID=1.2.3', 'StudyInstanceUID=1.2.3'],
    ['0020000D=9.9&0020000d=8.8&includefield=all', 'includefield=all&StudyInstanceUID=1.2.3'],
  ])('%j → %j', (query, expected) => {
    expect(serialized(restrictQueryToStudy(queryOf(query), '1.2.3'))).toBe(expected);
  });
});
