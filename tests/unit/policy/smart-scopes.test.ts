/** SMART scope grammar (src/policy/smart-scopes.ts) as tables. */
import { describe, expect, it } from '@jest/globals';
import { imagingGrants, parseSmartScope } from '../../../src/policy/smart-scopes.js';

describe('parseSmartScope', () => {
  it.each([
    // scope, parsed (null: not a clinical-data scope)
    ['patient/ImagingStudy.rs', { context: 'patient', resource: 'ImagingStudy', permissions: ['r', 's'] }],
    ['user/ImagingStudy.cruds', { context: 'user', resource: 'ImagingStudy', permissions: ['c', 'r', 'u', 'd', 's'] }],
    ['system/*.r', { context: 'system', resource: '*', permissions: ['r'] }],
    ['patient/*.s', { context: 'patient', resource: '*', permissions: ['s'] }],
    ['patient/ImagingStudy.c', { context: 'patient', resource: 'ImagingStudy', permissions: ['c'] }],
    // v1 spellings
    ['patient/ImagingStudy.read', { context: 'patient', resource: 'ImagingStudy', permissions: ['r', 's'] }],
    ['user/*.write', { context: 'user', resource: '*', permissions: ['c', 'u', 'd'] }],
    ['patient/*.*', { context: 'patient', resource: '*', permissions: ['c', 'r', 'u', 'd', 's'] }],
    // not scopes the gateway reads
    ['openid', null],
    ['launch/patient', null],
    ['fhirUser', null],
    ['patient/ImagingStudy.sr', null], // v2 letters keep their order
    ['patient/ImagingStudy.rrs', null],
    ['patient/ImagingStudy.', null],
    ['patient/ImagingStudy.x', null],
    ['Patient/ImagingStudy.rs', null], // contexts are lower-case
    ['practitioner/ImagingStudy.rs', null],
    ['patient/ImagingStudy.rs?category=x', null], // granular: see imagingGrants
    ['patient/Imaging Study.rs', null],
    ['patient/ImagingStudy.rs ', null],
    ['', null],
  ])('%j → %j', (scope, expected) => {
    expect(parseSmartScope(scope)).toEqual(expected);
  });
});

describe('imagingGrants', () => {
  it.each([
    // scope claim, grants
    ['openid profile patient/ImagingStudy.rs launch/patient', { patient: ['r', 's'] }],
    ['patient/*.read', { patient: ['r', 's'] }],
    ['patient/ImagingStudy.r patient/ImagingStudy.s', { patient: ['r', 's'] }], // joined
    ['patient/ImagingStudy.rs patient/ImagingStudy.c', { patient: ['c', 'r', 's'] }],
    ['user/ImagingStudy.rs system/*.cruds', { user: ['r', 's'], system: ['c', 'r', 'u', 'd', 's'] }],
    ['patient/Observation.rs', {}], // another resource
    ['patient/ImagingStudy.rs?category=radiology', {}], // granular scopes narrow: ignored, never widened
    ['openid profile email', {}],
    ['', {}],
    ['patient/ImagingStudy.rs  user/*.r', { patient: ['r', 's'], user: ['r'] }], // double space
  ])('%j → %j', (claim, expected) => {
    expect(imagingGrants(claim)).toEqual(expected);
  });
});
