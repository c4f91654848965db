import { appended, without, type Query } from '../canonical/query.js';

/** QIDO parameters that select studies by UID (keyword or tag), whatever their case. */
const STUDY_UID_PARAMETERS = new Set(['studyinstanceuid', '0020000d']);

/**
 * Constrains a QIDO query to one study: any study-UID filter the client sent is dropped and
 * `StudyInstanceUID=<uid>` added, so a search can only ever return the shared study.
 */
export function restrictQueryToStudy(query: Query, studyUid: string): Query {
  return appended(
    without(query, (name) => STUDY_UID_PARAMETERS.has(name.toLowerCase())),
    { name: 'StudyInstanceUID', value: studyUid },
  );
}
