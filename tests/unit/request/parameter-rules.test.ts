/**
 * The per-route-class parameter rules: everything a stage decides on is given once, non-empty and
 * valid, under exactly the spelling Orthanc reads; nothing is read under two spellings.
 */
import { describe, expect, it } from '@jest/globals';
import { normalizeTarget } from '../../../src/policy/normalize.js';
import { parameterClass, queryProblem } from '../../../src/request/parameter-rules.js';
import { queryOf, routeFor } from '../../support/routes.js';

const STUDY = '1.2.840.1';
const SERIES = '1.2.840.2';
const OBJECT = '1.2.840.3';
const WADO = `requestType=WADO&studyUID=${STUDY}&seriesUID=${SERIES}&objectUID=${OBJECT}`;
const PREVIEW = '/pacs/instances/0a1b2c3d-0a1b2c3d-0a1b2c3d-0a1b2c3d-0a1b2c3d/preview';
const FRAME = `/pacs/dicom-web/studies/${STUDY}/series/${SERIES}/instances/${OBJECT}/frames/1`;

/** The refusal reason of the classify stage's parameter check, or undefined when accepted. */
function problem(method: string, target: string): string | undefined {
  const normalized = normalizeTarget(target);
  if (!normalized.ok) throw new Error(normalized.reason);
  return queryProblem(queryOf(normalized.query), parameterClass(routeFor(method, target)));
}

describe('accepted', () => {
  it.each([
    // QIDO-RS, as OHIF 3.13 sends it
    ['GET', '/pacs/dicom-web/studies?limit=101&offset=0&fuzzymatching=false&includefield=00081030%2C00080060'],
    ['GET', '/pacs/dicom-web/studies?PatientName=Doe*&StudyDate=20200101-&ModalitiesInStudy=CT&limit=25'],
    ['GET', `/pacs/dicom-web/studies/${STUDY}/series?includefield=0008103E&includefield=00080021`],
    ['GET', '/pacs/dicom-web/studies?includefield=all&includefield=00081030'],
    ['GET', `/pacs/dicom-web/studies?0020000D=${STUDY}`],
    ['GET', `/pacs/dicom-web/studies?0020000d=${STUDY}`],
    ['GET', '/pacs/dicom-web/studies?PatientName=&PatientID='], // empty filters match everything, as for Orthanc
    ['GET', `/pacs/dicom-web/studies/${STUDY}/series?Modality=CT&SeriesInstanceUID=${SERIES}`],
    ['GET', `/pacs/dicom-web/studies/${STUDY}/series/${SERIES}/instances?SOPInstanceUID=${OBJECT}&limit=5`],
    ['GET', '/pacs/dicom-web/studies'],
    // WADO-RS
    ['GET', FRAME],
    ['GET', `/pacs/dicom-web/studies/${STUDY}/rendered?quality=90&viewport=128,128`],
    ['GET', `/pacs/dicom-web/studies/${STUDY}/series/${SERIES}/thumbnail?viewport=64,64`],
    ['GET', `/pacs/dicom-web/studies/${STUDY}/metadata`],
    // WADO-URI
    ['GET', `/pacs/wado?${WADO}`],
    ['GET', `/pacs/wado?${WADO}&contentType=application/dicom`],
    ['GET', `/pacs/wado?contentType=image/jpeg&objectUID=${OBJECT}&seriesUID=${SERIES}&studyUID=${STUDY}&requestType=WADO`],
    // previews
    ['GET', PREVIEW],
    ['GET', `${PREVIEW}?quality=80`],
    // STOW-RS
    ['POST', '/pacs/dicom-web/studies'],
    // the Orthanc REST API's own arguments
    ['GET', '/pacs-admin/patients?expand&since=0&limit=100'],
    ['GET', '/pacs-admin/studies?requestedTags=StudyDescription&full'],
    ['DELETE', '/pacs-admin/patients/0a1b2c3d-0a1b2c3d-0a1b2c3d-0a1b2c3d-0a1b2c3d'],
  ])('%s %s', (method, target) => {
    expect(problem(method, target)).toBeUndefined();
  });
});

describe('refused', () => {
  it.each([
    // method override, in any case and on every route
    ['GET', '/pacs-admin/patients?_method=DELETE', /_method/],
    ['GET', '/pacs-admin/patients?_METHOD=DELETE', /_method/],
    ['GET', '/pacs-admin/patients?expand&_Method=delete', /_method/],
    ['GET', `/pacs/wado?${WADO}&_method=DELETE`, /_method/],
    ['GET', '/pacs/dicom-web/studies?_method=DELETE', /_method/],
    ['POST', '/pacs/dicom-web/studies?_method=PUT', /_method/],
    // repeated single-valued parameters (Orthanc's plugin reads the last one)
    ['GET', `/pacs/wado?${WADO}&studyUID=9.9`, /studyUID.*more than once/],
    ['GET', `/pacs/wado?${WADO}&objectUID=9.9`, /objectUID.*more than once/],
    ['GET', `/pacs/wado?${WADO}&seriesUID=9.9`, /seriesUID.*more than once/],
    ['GET', `/pacs/wado?${WADO}&requestType=WADO`, /requestType.*more than once/],
    ['GET', '/pacs/dicom-web/studies?limit=1&limit=5000', /limit.*more than once/],
    ['GET', '/pacs/dicom-web/studies?offset=0&offset=5', /offset.*more than once/],
    ['GET', '/pacs/dicom-web/studies?fuzzymatching=false&fuzzymatching=true', /more than once/],
    ['GET', `/pacs/dicom-web/studies?StudyInstanceUID=${STUDY}&StudyInstanceUID=9.9`, /more than once/],
    ['GET', '/pacs/dicom-web/studies?PatientName=A&PatientName=B', /more than once/],
    ['GET', `${FRAME}?quality=1&quality=2`, /more than once/],
    ['GET', '/pacs-admin/patients?limit=1&limit=2', /more than once/],
    // the same attribute under two spellings (Orthanc reads both as one filter, the last wins)
    ['GET', `/pacs/dicom-web/studies?StudyInstanceUID=${STUDY}&0020000D=9.9`, /two spellings/],
    ['GET', `/pacs/dicom-web/studies?0020000D=${STUDY}&0020000D=9.9`, /more than once/],
    ['GET', '/pacs/dicom-web/studies?PatientID=A&00100020=B', /two spellings/],
    // a filter on what the path already names (path and query would both name the study or series)
    ['GET', `/pacs/dicom-web/studies/${STUDY}/series?StudyInstanceUID=9.9`, /what the path already names/],
    ['GET', `/pacs/dicom-web/studies/${STUDY}/instances?0020000d=9.9`, /what the path already names/],
    ['GET', `/pacs/dicom-web/studies/${STUDY}/series/${SERIES}/instances?SeriesInstanceUID=9.9`, /what the path already names/],
    ['GET', `/pacs/dicom-web/studies/${STUDY}/series/${SERIES}/instances?StudyInstanceUID=${STUDY}`, /what the path already names/],
    // re-cased names
    ['GET', `/pacs/wado?requestType=WADO&StudyUID=${STUDY}&seriesUID=${SERIES}&objectUID=${OBJECT}`, /"StudyUID" must be spelled "studyUID"/],
    ['GET', `/pacs/wado?${WADO}&StudyUID=9.9`, /must be spelled "studyUID"/],
    ['GET', `/pacs/wado?${WADO}&OBJECTUID=9.9`, /must be spelled "objectUID"/],
    ['GET', '/pacs/dicom-web/studies?Limit=5000', /must be spelled "limit"/],
    ['GET', '/pacs/dicom-web/studies?IncludeField=00081030', /must be spelled "includefield"/],
    ['GET', `/pacs/dicom-web/studies?studyinstanceuid=${STUDY}`, /must be spelled "StudyInstanceUID"/],
    ['GET', `/pacs/dicom-web/studies?0020000d=${STUDY}&0020000D=9.9`, /differ only in case/],
    ['GET', '/pacs/dicom-web/studies?PatientNAME=A&PatientName=B', /differ only in case/],
    ['GET', '/pacs-admin/patients?Expand&expand', /differ only in case/],
    // empty or invalid values of what a stage decides on
    ['GET', `/pacs/wado?requestType=WADO&studyUID=&seriesUID=${SERIES}&objectUID=${OBJECT}`, /studyUID.*DICOM UID/],
    ['GET', `/pacs/wado?requestType=WADO&studyUID=${STUDY}&seriesUID=&objectUID=${OBJECT}`, /seriesUID.*DICOM UID/],
    ['GET', `/pacs/wado?requestType=WADO&studyUID=${STUDY}&seriesUID=${SERIES}&objectUID=`, /objectUID.*DICOM UID/],
    ['GET', `/pacs/wado?requestType=WADO&studyUID=${STUDY}%20&seriesUID=${SERIES}&objectUID=${OBJECT}`, /studyUID.*DICOM UID/],
    ['GET', `/pacs/wado?requestType=WADO&studyUID=${STUDY}&objectUID=${OBJECT}`, /"seriesUID" is required/],
    ['GET', `/pacs/wado?requestType=WADO&seriesUID=${SERIES}&objectUID=${OBJECT}`, /"studyUID" is required/],
    ['GET', `/pacs/wado?studyUID=${STUDY}&seriesUID=${SERIES}&objectUID=${OBJECT}`, /"requestType" is required/],
    ['GET', `/pacs/wado?requestType=wado&studyUID=${STUDY}&seriesUID=${SERIES}&objectUID=${OBJECT}`, /requestType.*WADO/],
    ['GET', '/pacs/dicom-web/studies?limit=', /limit.*whole number/],
    ['GET', '/pacs/dicom-web/studies?offset', /offset.*whole number/],
    ['GET', '/pacs/dicom-web/studies?limit=-1', /limit.*whole number/],
    ['GET', '/pacs/dicom-web/studies?fuzzymatching=', /true or false/],
    ['GET', '/pacs/dicom-web/studies?includefield=', /includefield.*not empty/],
    ['GET', `${PREVIEW}?quality=`, /quality.*whole number/],
    // names a route does not take
    ['GET', `/pacs/wado?${WADO}&study=1`, /not accepted/],
    ['GET', `${FRAME}?StudyInstanceUID=${STUDY}`, /not accepted/],
    ['GET', `${PREVIEW}?x=1`, /not accepted/],
    ['POST', '/pacs/dicom-web/studies?x=1', /not accepted/],
    ['GET', '/pacs/dicom-web/studies?a.b=1', /not accepted/],
    ['GET', '/pacs/dicom-web/studies?0020-000D=1', /not accepted/],
    ['GET', `/pacs/wado?${WADO}&constructor=1`, /not accepted/],
    ['GET', `/pacs/wado?${WADO}&__proto__=1`, /not accepted/],
    ['GET', '/pacs/dicom-web/studies?constructor=1&constructor=2', /more than once/],
  ])('%s %s', (method, target, reason) => {
    expect(problem(method, target)).toMatch(reason);
  });
});

describe('QIDO filters on UID attributes hold UIDs only (Orthanc drops backslashes, a decoded & or = would end up in its filter)', () => {
  it.each([`StudyInstanceUID=${STUDY},${SERIES}`, 'StudyInstanceUID=', `0020000e=${SERIES}`, `SOPInstanceUID=${OBJECT}`])('accepts %s', (query) => {
    expect(problem('GET', `/pacs/dicom-web/instances?${query}`)).toBeUndefined();
  });

  it.each([
    `StudyInstanceUID=${STUDY}%26StudyInstanceUID%3D9.9`,
    `StudyInstanceUID=1.2%5C3.4`,
    'StudyInstanceUID=1.2.*',
    `0020000D=${STUDY},`,
    `SeriesInstanceUID=1.${'2'.repeat(63)}`,
    `00080018=${OBJECT}%3Bx`,
  ])('refuses %s', (query) => {
    expect(problem('GET', `/pacs/dicom-web/instances?${query}`)).toMatch(/must be DICOM UIDs/);
  });
});
