import { expect } from '@jest/globals';

/** The gateway's own per-study lookups (src/authorize/study-lookup.ts) as Orthanc's request log shows them. */
export const isStudyLookup = (request: string) =>
  request === 'POST /tools/lookup' || /^GET \/studies\/[0-9a-f-]+(\/(shared|instances)-tags)?$/.test(request) || /^GET \/instances\/[0-9a-f-]+\/study$/.test(request);

/** The one answer a study-scoped user gets for a study that is not theirs and for one that does not exist. */
export const STUDY_NOT_FOUND_BODY = { error: 'not_found', message: 'No such study, or not one you may see', requestId: expect.any(String) };

export async function expectStudyNotFound(response: Response): Promise<void> {
  expect(response.status).toBe(404);
  expect(await response.json()).toEqual(STUDY_NOT_FOUND_BODY);
}
