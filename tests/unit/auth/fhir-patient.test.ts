/** FHIR Patient resource → DICOM Patient IDs (src/auth/fhir-patient.ts) as a table. */
import { describe, expect, it } from '@jest/globals';
import { dicomPatientIds } from '../../../src/auth/fhir-patient.js';

const SYSTEM = 'urn:oid:1.2.3.4';
const patient = (identifier: unknown, id = 'p1') => ({ resourceType: 'Patient', id, identifier });

describe('dicomPatientIds', () => {
  it.each([
    // resource, DICOM Patient IDs
    [patient([{ system: SYSTEM, value: 'P-1' }]), ['P-1']],
    [patient([{ system: 'urn:other', value: 'X' }, { system: SYSTEM, value: 'P-1' }, { system: SYSTEM, value: 'P-2' }]), ['P-1', 'P-2']],
    [patient([{ system: 'urn:other', value: 'P-1' }]), []], // another system
    [patient([{ value: 'P-1' }]), []], // no system
    [patient([{ system: SYSTEM, value: ' ' }]), []],
    [patient([{ system: SYSTEM, value: 42 }]), []],
    [patient([null, { system: SYSTEM, value: 'P-1' }]), ['P-1']],
    [patient(undefined), []],
    [patient([{ system: SYSTEM, value: 'P-1' }], 'p2'), []], // another Patient than asked for
    [{ resourceType: 'Bundle', id: 'p1', identifier: [{ system: SYSTEM, value: 'P-1' }] }, []],
    [null, []],
    ['Patient', []],
  ])('%j → %j', (resource, expected) => {
    expect(dicomPatientIds(resource, 'p1', SYSTEM)).toEqual(expected);
  });
});
