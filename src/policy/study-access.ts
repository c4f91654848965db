/**
 * Per-study access from a token claim: which studies a claim-restricted user may see, decided from
 * one DICOM attribute of the study and the values of the user's claim.
 */
export type StudyAttribute = 'InstitutionName' | 'PatientIDPrefix' | 'PatientID';

/** The DICOM tag each rule reads (DICOM JSON keys: upper-case hex, no separators). */
export const ATTRIBUTE_TAG: Record<StudyAttribute, string> = {
  InstitutionName: '00080080',
  PatientIDPrefix: '00100020',
  PatientID: '00100020',
};

/** Leading and trailing spaces of LO values are padding, not content (PS3.5 6.2). */
const unpadded = (value: string) => value.trim();

function matches(studyValue: string, allowed: string, attribute: StudyAttribute): boolean {
  return attribute === 'PatientIDPrefix' ? studyValue.startsWith(allowed) : studyValue === allowed;
}

/**
 * Whether a study with these attribute values may be seen by a user with these claim values.
 * Deny by default: no study value, no claim value, or an empty one never match (an empty prefix
 * would match every patient). Matching is case-sensitive, as DICOM matching of LO values is. A
 * multi-valued attribute (malformed for both VM=1 attributes) needs every value allowed.
 */
export function isStudyAllowed(studyValues: readonly string[], allowed: readonly string[], attribute: StudyAttribute): boolean {
  const claimValues = allowed.map(unpadded).filter(Boolean);
  const values = studyValues.map(unpadded);
  if (values.length === 0 || claimValues.length === 0) return false;
  return values.every((value) => value !== '' && claimValues.some((claim) => matches(value, claim, attribute)));
}

/** The string values of one attribute of a DICOM JSON dataset; none when absent or not strings. */
export function attributeValues(dataset: unknown, tag: string): string[] {
  if (typeof dataset !== 'object' || dataset === null) return [];
  const element = (dataset as Record<string, { Value?: unknown }>)[tag];
  const values = Array.isArray(element?.Value) ? element.Value : [];
  return values.every((value) => typeof value === 'string') ? values : [];
}
