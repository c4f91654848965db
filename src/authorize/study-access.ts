import type { RequestHandler } from 'express';
import { GatewayError } from '../errors.js';
import { ATTRIBUTE_TAG, attributeValues, isStudyAllowed, type StudyAttribute } from '../policy/study-access.js';
import type { StudyAccessCheck } from '../policy/evaluate.js';
import { withQuery } from '../canonical/canonical-request.js';
import { classifiedRequest, requestState } from '../respond/request-state.js';
import { filteredSearchQuery } from '../request/qido-query.js';
import { answerStudyNotFound, studyNotYours } from '../respond/refusal.js';
import type { StudyLookup } from './study-lookup.js';

const STUDY_INSTANCE_UID = '0020000D';

/** One per-study rule: the attribute judged, and the lookup of its values over a study's instances. */
export interface StudyDecider {
  attribute: StudyAttribute;
  lookup: StudyLookup;
}

/** The rules the gateway runs: per-study access from a claim, and the Patient ID of a SMART patient context. */
export interface StudyDeciders {
  claim?: StudyDecider | undefined;
  patient?: StudyDecider | undefined;
}

function deciderFor(check: StudyAccessCheck, deciders: StudyDeciders): StudyDecider {
  const decider = check.basis === 'patient' ? deciders.patient : deciders.claim;
  // Wiring error, never a client's doing: fail closed.
  if (!decider) throw new GatewayError('internal_error', 'per-study access is not configured for this check');
  return decider;
}

/**
 * Carries out the per-study access check the policy asked for, with one decision per study (the
 * values over all its instances, see study-lookup.ts): a search is sent upstream unpaged and marked
 * for filtering (the proxy keeps the results whose study that decision allows, and pages them); a
 * read of one study, or of an instance by Orthanc id, goes on only when it allows that study, and is
 * otherwise answered exactly like a study that does not exist.
 */
export function enforceStudyAccess(deciders: StudyDeciders): RequestHandler {
  return async (req, res, next) => {
    const state = requestState(res);
    const check = state.studyAccess;
    if (!check || !state.route) return next();
    const { attribute, lookup } = deciderFor(check, deciders);
    const tag = ATTRIBUTE_TAG[attribute];
    const allows = (values: readonly string[] | null) => values !== null && isStudyAllowed(values, check.allowed, attribute);
    if (check.kind === 'search') {
      const single = attribute !== 'InstitutionName' && check.allowed.length === 1 ? check.allowed[0]!.trim() : undefined;
      const request = classifiedRequest(state);
      const search = filteredSearchQuery(request.query, tag, single);
      state.request = withQuery(request, search.query);
      // The result's own attribute first (no request to Orthanc for what it already refuses), then the
      // same per-study decision as every read: a result is shown only when its whole study may be seen.
      const keep = async (dataset: unknown) => {
        if (!allows(attributeValues(dataset, tag))) return false;
        const [studyUid, ...more] = attributeValues(dataset, STUDY_INSTANCE_UID);
        return studyUid !== undefined && more.length === 0 && allows(await lookup.byStudyUid(studyUid));
      };
      state.searchFilter = { keep, offset: search.offset, limit: search.limit };
      return next();
    }
    const values = check.kind === 'study' ? await lookup.byStudyUid(check.studyUid) : await lookup.byInstanceId(check.orthancId);
    if (!allows(values)) return answerStudyNotFound(req, res, studyNotYours());
    next();
  };
}
