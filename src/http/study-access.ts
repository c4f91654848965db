import type { RequestHandler } from 'express';
import type { StudyAccessConfig } from '../config/config.js';
import { ATTRIBUTE_TAG, attributeValues, isStudyAllowed } from '../policy/study-access.js';
import type { StudyAccessCheck } from '../policy/evaluate.js';
import { requestState, setUpstreamQuery, upstreamQuery } from './locals.js';
import { filteredSearchQuery } from './qido-query.js';
import { answerStudyNotFound, studyNotYours } from './refusal.js';
import type { StudyLookup } from './study-lookup.js';

/**
 * Carries out the per-study access check the policy asked for: a search is sent upstream unpaged
 * and marked for filtering (the proxy filters and pages its results); a read of one study or
 * instance goes on only when Orthanc's record of that study matches the user's claim; otherwise it
 * is answered exactly like a study that does not exist.
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
      const search = filteredSearchQuery(upstreamQuery(state), tag, single);
      setUpstreamQuery(state, state.route, search.query);
      state.searchFilter = { keep: (dataset) => allows(attributeValues(dataset, tag), check), offset: search.offset, limit: search.limit };
      return next();
    }
    const values = check.kind === 'study' ? await lookup.byStudyUid(check.studyUid) : await lookup.byInstanceId(check.orthancId);
    if (!allows(values, check)) return answerStudyNotFound(req, res, studyNotYours());
    next();
  };
}
