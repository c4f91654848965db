import type { RequestHandler } from 'express';
import type { StudyAccessConfig } from '../config/config.js';
import { ATTRIBUTE_TAG, attributeValues, isStudyAllowed } from '../policy/study-access.js';
import type { StudyAccessCheck } from '../policy/evaluate.js';
import { withQuery } from '../request/canonical-request.js';
import { classifiedRequest, requestState } from './locals.js';
import { filteredSearchQuery } from './qido-query.js';
import { answerStudyNotFound, studyNotYours } from './refusal.js';
import type { StudyLookup } from './study-lookup.js';

const STUDY_INSTANCE_UID = '0020000D';

/**
 * Carries out the per-study access check the policy asked for, with one decision per study (the
 * values over all its instances, see study-lookup.ts): a search is sent upstream unpaged and marked
 * for filtering (the proxy keeps the results whose study that decision allows, and pages them); a
 * read of one study, or of an instance by Orthanc id, goes on only when it allows that study, and is
 * otherwise answered exactly like a study that does not exist.
 */
export function enforceStudyAccess(config: Pick<StudyAccessConfig, 'attribute'>, lookup: StudyLookup): RequestHandler {
  const tag = ATTRIBUTE_TAG[config.attribute];
  const allows = (values: readonly string[] | null, check: StudyAccessCheck) => values !== null && isStudyAllowed(values, check.allowed, config.attribute);

  return async (req, res, next) => {
    const state = requestState(res);
    const check = state.studyAccess;
    if (!check || !state.route) return next();
    if (check.kind === 'search') {
      const single = config.attribute === 'PatientIDPrefix' && check.allowed.length === 1 ? check.allowed[0]!.trim() : undefined;
      const request = classifiedRequest(state);
      const search = filteredSearchQuery(request.query, tag, single);
      state.request = withQuery(request, search.query);
      // The result's own attribute first (no request to Orthanc for what it already refuses), then the
      // same per-study decision as every read: a result is shown only when its whole study may be seen.
      const keep = async (dataset: unknown) => {
        if (!allows(attributeValues(dataset, tag), check)) return false;
        const [studyUid, ...more] = attributeValues(dataset, STUDY_INSTANCE_UID);
        return studyUid !== undefined && more.length === 0 && allows(await lookup.byStudyUid(studyUid), check);
      };
      state.searchFilter = { keep, offset: search.offset, limit: search.limit };
      return next();
    }
    const values = check.kind === 'study' ? await lookup.byStudyUid(check.studyUid) : await lookup.byInstanceId(check.orthancId);
    if (!allows(values, check)) return answerStudyNotFound(req, res, studyNotYours());
    next();
  };
}
