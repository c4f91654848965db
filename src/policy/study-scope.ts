/** QIDO parameters that select studies by UID (keyword or tag), whatever their case. */
const STUDY_UID_PARAMETERS = new Set(['studyinstanceuid', '0020000d']);

/**
 * Constrains a QIDO query string to one study: any study-UID filter the client sent is dropped and
 * `StudyInstanceUID=<uid>` added, so a search can only ever return the shared study.
 */
export function restrictQueryToStudy(query: string, studyUid: string): string {
  const parameters = new URLSearchParams(query);
  for (const name of [...parameters.keys()]) {
    if (STUDY_UID_PARAMETERS.has(name.toLowerCase())) parameters.delete(name);
  }
  parameters.append('StudyInstanceUID', studyUid);
  return parameters.toString();
}
