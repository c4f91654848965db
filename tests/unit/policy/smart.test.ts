/**
 * The policy for SMART-governed apps (src/policy/evaluate.ts, Subject.smart) as a table: route class ×
 * grants × roles × patient context.
 */
import { describe, expect, it } from '@jest/globals';
import { evaluate, type Decision, type PolicyOptions, type Subject } from '../../../src/policy/evaluate.js';
import type { Route } from '../../../src/policy/routes.js';
import { imagingGrants } from '../../../src/policy/smart-scopes.js';

const OPTIONS: PolicyOptions = { roles: { viewer: 'pacs-viewer', uploader: 'pacs-uploader', admin: 'pacs-admin' }, allowDangerous: false };
const STUDY = '1.2.3';
const ORTHANC_ID = '6b9e19d9-62094390-5f9ddb01-4a191ae7-9766b715';

const ROUTES = {
  search: { class: 'dicomweb-read', prefix: '/pacs', upstreamPath: '/dicom-web/studies' },
  'series search': { class: 'dicomweb-read', prefix: '/pacs', upstreamPath: '/dicom-web/series' },
  retrieve: { class: 'dicomweb-read', prefix: '/pacs', upstreamPath: `/dicom-web/studies/${STUDY}`, studyUid: STUDY },
  'wado-uri': { class: 'wado-uri', prefix: '/pacs', upstreamPath: '/wado', studyUid: STUDY },
  preview: { class: 'preview', prefix: '/pacs', upstreamPath: `/instances/${ORTHANC_ID}/preview`, orthancId: ORTHANC_ID },
  store: { class: 'dicomweb-store', prefix: '/pacs', upstreamPath: '/dicom-web/studies' },
  admin: { class: 'admin', prefix: '/pacs-admin', upstreamPath: '/system' },
} satisfies Record<string, Route>;
type RouteName = keyof typeof ROUTES;

const smart = (scope: string, roles: string[] = [], patient: string[] = ['P1']): Subject => ({ roles, smart: { grants: imagingGrants(scope), patient } });

const patientSearch: Decision = { outcome: 'allow', studyAccess: { kind: 'search', allowed: ['P1'], basis: 'patient' } };
const patientStudy: Decision = { outcome: 'allow', studyAccess: { kind: 'study', studyUid: STUDY, allowed: ['P1'], basis: 'patient' } };
const patientInstance: Decision = { outcome: 'allow', studyAccess: { kind: 'instance', orthancId: ORTHANC_ID, allowed: ['P1'], basis: 'patient' } };
const allow: Decision = { outcome: 'allow' };
const forbidden = (reason: string | RegExp) => ({ outcome: 'forbidden', reason: expect.stringMatching(reason) });

describe('evaluate: SMART-governed apps', () => {
  it.each<[string, Subject, RouteName, unknown]>([
    // A patient scope confines every read to the patient, without any role.
    ['patient .rs', smart('patient/ImagingStudy.rs'), 'search', patientSearch],
    ['patient .rs', smart('patient/ImagingStudy.rs'), 'series search', patientSearch],
    ['patient .rs', smart('patient/ImagingStudy.rs'), 'retrieve', patientStudy],
    ['patient .rs', smart('patient/ImagingStudy.rs'), 'wado-uri', patientStudy],
    ['patient .rs', smart('patient/ImagingStudy.rs'), 'preview', patientInstance],
    ['patient *.read (v1)', smart('patient/*.read'), 'retrieve', patientStudy],
    // ... even with roles: the patient scope is what the app was granted
    ['patient .rs + viewer role', smart('patient/ImagingStudy.rs', ['pacs-admin']), 'search', patientSearch],
    // r and s apart
    ['patient .r only', smart('patient/ImagingStudy.r'), 'search', forbidden('no ImagingStudy scope with "s"')],
    ['patient .r only', smart('patient/ImagingStudy.r'), 'retrieve', patientStudy],
    ['patient .s only', smart('patient/ImagingStudy.s'), 'retrieve', forbidden('no ImagingStudy scope with "r"')],
    ['patient .s only', smart('patient/ImagingStudy.s'), 'search', patientSearch],
    // uploads cannot be confined to a patient; the admin API is no FHIR resource
    ['patient .cruds', smart('patient/ImagingStudy.cruds'), 'store', forbidden('patient context: uploads')],
    ['patient .rs', smart('patient/ImagingStudy.rs'), 'store', forbidden('no ImagingStudy scope with "c"')],
    ['patient *.*', smart('patient/*.*', ['pacs-admin']), 'admin', forbidden('admin API is not open to SMART apps')],
    // a patient scope without patient context names nobody
    ['patient .rs, no patient', smart('patient/ImagingStudy.rs', [], []), 'search', forbidden('no patient context')],
    // user/system scopes open what the roles open
    ['user .rs + viewer', smart('user/ImagingStudy.rs', ['pacs-viewer']), 'search', allow],
    ['user .rs + viewer', smart('user/ImagingStudy.rs', ['pacs-viewer']), 'retrieve', allow],
    ['user .rs, no role', smart('user/ImagingStudy.rs'), 'retrieve', forbidden('requires one of the roles')],
    ['user .rs + uploader', smart('user/ImagingStudy.rs', ['pacs-uploader']), 'store', forbidden('no ImagingStudy scope with "c"')],
    ['user .cruds + uploader', smart('user/ImagingStudy.cruds', ['pacs-uploader']), 'store', allow],
    ['user *.write + viewer', smart('user/*.write', ['pacs-viewer']), 'store', forbidden('requires one of the roles')],
    ['system .rs + viewer', smart('system/ImagingStudy.rs', ['pacs-viewer']), 'preview', allow],
    // neither a usable scope nor anything else: refused, whatever the roles
    ['no scope + admin', smart('openid profile', ['pacs-admin']), 'retrieve', forbidden('no ImagingStudy scope')],
    ['other resource + viewer', smart('user/Observation.rs', ['pacs-viewer']), 'search', forbidden('no ImagingStudy scope')],
    ['granular scope', smart('patient/ImagingStudy.rs?category=x'), 'search', forbidden('no ImagingStudy scope')],
  ])('%s on %s', (_name, subject, route, expected) => {
    expect(evaluate(ROUTES[route], subject, OPTIONS)).toEqual(expected);
  });

  it('user scopes still honour per-study access from the claim', () => {
    const subject: Subject = { ...smart('user/ImagingStudy.rs', ['pacs-viewer']), studyAccess: ['Hospital A'] };
    expect(evaluate(ROUTES.retrieve, subject, { ...OPTIONS, studyAccess: { bypassRoles: ['pacs-admin'] } })).toEqual({
      outcome: 'allow',
      studyAccess: { kind: 'study', studyUid: STUDY, allowed: ['Hospital A'] },
    });
  });
});
