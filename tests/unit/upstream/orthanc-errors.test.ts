import { describe, expect, it } from '@jest/globals';
import { orthancErrorAnswer } from '../../../src/upstream/orthanc-errors.js';
import { STUDY_NOT_FOUND } from '../../../src/respond/refusal.js';

describe("orthancErrorAnswer: Orthanc's error statuses become the gateway's fixed errors", () => {
  it.each([
    [404, false, 404, 'not_found', 'Orthanc has no such resource'],
    [404, true, 404, 'not_found', STUDY_NOT_FOUND],
    [400, false, 400, 'bad_request', 'Orthanc refused the request as invalid'],
    [400, true, 400, 'bad_request', 'Orthanc refused the request as invalid'],
    [405, false, 400, 'bad_request', 'Orthanc refused the request as invalid'],
    [409, false, 400, 'bad_request', 'Orthanc refused the request as invalid'],
    [415, false, 400, 'bad_request', 'Orthanc refused the request as invalid'],
    [413, false, 413, 'payload_too_large', 'Orthanc refused the request as too large'],
    [500, false, 502, 'bad_gateway', 'Orthanc failed to process the request'],
    [500, true, 502, 'bad_gateway', 'Orthanc failed to process the request'],
    [503, false, 502, 'bad_gateway', 'Orthanc failed to process the request'],
  ])('%i (study-scoped: %s) → %i %s', (status, studyScoped, expectedStatus, code, message) => {
    const answer = orthancErrorAnswer(status, { studyScoped });
    expect({ status: answer.status, code: answer.code, message: answer.message }).toEqual({ status: expectedStatus, code, message });
    expect(answer.reason).toBeUndefined(); // Orthanc's answer is not a refusal by the gateway
  });
});
