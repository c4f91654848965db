/** The per-study access rule (src/policy/study-access.ts) as tables. */
import { describe, expect, it } from '@jest/globals';
import { attributeValues, isStudyAllowed, type StudyAttribute } from '../../../src/policy/study-access.js';

describe('isStudyAllowed', () => {
  it.each([
    // attribute, study values, claim values, allowed?
    ['InstitutionName', ['Hospital A'], ['Hospital A'], true],
    ['InstitutionName', ['Hospital A'], ['Hospital B', 'Hospital A'], true],
    ['InstitutionName', ['Hospital A '], ['Hospital A'], true], // DICOM pads LO values with spaces
    ['InstitutionName', [' Hospital A'], ['Hospital A  '], true],
    ['InstitutionName', ['Hospital A'], ['hospital a'], false], // case-sensitive
    ['InstitutionName', ['Hospital A'], ['Hospital'], false], // exact, not a prefix
    ['InstitutionName', ['Hospital AB'], ['Hospital A'], false],
    ['InstitutionName', ['Hospital A'], [], false], // no claim: nothing
    ['InstitutionName', [], ['Hospital A'], false], // study without the attribute: nobody restricted
    ['InstitutionName', [''], [''], false], // empty never matches empty
    ['InstitutionName', ['  '], ['  '], false],
    ['InstitutionName', ['Hospital A', 'Hospital B'], ['Hospital A'], false], // every value must be allowed
    ['InstitutionName', ['Hospital A', 'Hospital B'], ['Hospital A', 'Hospital B'], true],
    ['PatientIDPrefix', ['HA-123'], ['HA-'], true],
    ['PatientIDPrefix', ['HA-123'], ['HA-123'], true],
    ['PatientIDPrefix', ['HA-123 '], ['HA-'], true],
    ['PatientIDPrefix', ['HB-123'], ['HA-'], false],
    ['PatientIDPrefix', ['ha-123'], ['HA-'], false],
    ['PatientIDPrefix', ['HA-123'], [''], false], // an empty prefix would match every patient
    ['PatientIDPrefix', ['HA-123'], [' '], false],
    ['PatientIDPrefix', ['HA'], ['HA-'], false],
  ] as Array<[StudyAttribute, string[], string[], boolean]>)('%s: study %j, claim %j → %s', (attribute, study, claim, expected) => {
    expect(isStudyAllowed(study, claim, attribute)).toBe(expected);
  });
});

describe('attributeValues (DICOM JSON)', () => {
  it.each([
    [{ '00080080': { vr: 'LO', Value: ['Hospital A'] } }, ['Hospital A']],
    [{ '00080080': { vr: 'LO', Value: ['A', 'B'] } }, ['A', 'B']],
    [{ '00080080': { vr: 'LO' } }, []],
    [{}, []],
    [{ '00080080': { vr: 'LO', Value: [{ Alphabetic: 'x' }] } }, []],
    [{ '00080080': { vr: 'LO', Value: ['A', 7] } }, []], // anything odd: no value, so denied
    [{ '00080080': { vr: 'LO', Value: 'A' } }, []],
    [null, []],
    ['string', []],
  ])('%j → %j', (dataset, expected) => {
    expect(attributeValues(dataset, '00080080')).toEqual(expected);
  });
});
