/**
 * The authorization policy as a full matrix: route class × subject × ADMIN_ALLOW_DANGEROUS.
 * Legend: A = allow, U = unauthenticated, F = forbidden.
 */
import { describe, expect, it } from '@jest/globals';
import { evaluate, type PolicyOptions, type Subject } from '../../../src/policy/evaluate.js';
import type { Route, RouteClass } from '../../../src/policy/routes.js';

const DEFAULT_ROLES = { viewer: 'pacs-viewer', uploader: 'pacs-uploader', admin: 'pacs-admin' };

const ROUTES: Record<RouteClass, Route> = {
  'dicomweb-read': { class: 'dicomweb-read', prefix: '/pacs', upstreamPath: '/dicom-web/studies' },
  'dicomweb-store': { class: 'dicomweb-store', prefix: '/pacs', upstreamPath: '/dicom-web/studies' },
  'wado-uri': { class: 'wado-uri', prefix: '/pacs', upstreamPath: '/wado' },
  preview: { class: 'preview', prefix: '/pacs', upstreamPath: '/instances/6b9e19d9-62094390-5f9ddb01-4a191ae7-9766b715/preview' },
  admin: { class: 'admin', prefix: '/pacs-admin', upstreamPath: '/system' },
  'admin-blocked': {
    class: 'admin-blocked',
    prefix: '/pacs-admin',
    upstreamPath: '/tools/execute-script',
    blocked: { name: 'execute-script', reason: 'runs arbitrary Lua code, and through it system commands' },
  },
};

type SubjectName = 'anonymous' | 'no roles' | 'viewer' | 'uploader' | 'viewer+uploader' | 'admin' | 'unrelated' | 'drop box';

const SUBJECTS: Record<SubjectName, Subject | null> = {
  anonymous: null,
  'no roles': { roles: [] },
  viewer: { roles: ['pacs-viewer'] },
  uploader: { roles: ['pacs-uploader'] },
  'viewer+uploader': { roles: ['pacs-viewer', 'pacs-uploader'] },
  admin: { roles: ['pacs-admin'] },
  unrelated: { roles: ['offline_access', 'uma_authorization', 'default-roles-orthanc', 'PACS-ADMIN', 'pacs-admin-x'] },
  // A drop-box link holder: even roles (which such a session never has) open no read.
  'drop box': { roles: ['pacs-admin'], dropBox: true },
};

type Outcome = 'A' | 'U' | 'F';
const OUTCOME: Record<Outcome, string> = { A: 'allow', U: 'unauthenticated', F: 'forbidden' };

/**
 * Columns: anonymous, no roles, viewer, uploader, viewer+uploader, admin, unrelated, drop box.
 * One table per ADMIN_ALLOW_DANGEROUS value; only the admin-blocked row differs.
 */
const COLUMNS: SubjectName[] = ['anonymous', 'no roles', 'viewer', 'uploader', 'viewer+uploader', 'admin', 'unrelated', 'drop box'];
const MATRIX: Record<'safe' | 'dangerous', Record<RouteClass, Outcome[]>> = {
  safe: {
    //                anon  none  view  upl   v+u   adm   unrel drop
    'dicomweb-read': ['U', 'F', 'A', 'A', 'A', 'A', 'F', 'F'],
    'wado-uri': ['U', 'F', 'A', 'A', 'A', 'A', 'F', 'F'],
    preview: ['U', 'F', 'A', 'A', 'A', 'A', 'F', 'F'],
    'dicomweb-store': ['U', 'F', 'F', 'A', 'A', 'A', 'F', 'A'],
    admin: ['U', 'F', 'F', 'F', 'F', 'A', 'F', 'F'],
    'admin-blocked': ['U', 'F', 'F', 'F', 'F', 'F', 'F', 'F'],
  },
  dangerous: {
    'dicomweb-read': ['U', 'F', 'A', 'A', 'A', 'A', 'F', 'F'],
    'wado-uri': ['U', 'F', 'A', 'A', 'A', 'A', 'F', 'F'],
    preview: ['U', 'F', 'A', 'A', 'A', 'A', 'F', 'F'],
    'dicomweb-store': ['U', 'F', 'F', 'A', 'A', 'A', 'F', 'A'],
    admin: ['U', 'F', 'F', 'F', 'F', 'A', 'F', 'F'],
    'admin-blocked': ['U', 'F', 'F', 'F', 'F', 'A', 'F', 'F'],
  },
};

const cases = (['safe', 'dangerous'] as const).flatMap((mode) =>
  (Object.keys(MATRIX[mode]) as RouteClass[]).flatMap((routeClass) =>
    COLUMNS.map((subject, column) => ({
      allowDangerous: mode === 'dangerous',
      routeClass,
      subject,
      expected: OUTCOME[MATRIX[mode][routeClass][column]!],
    })),
  ),
);

describe('evaluate: route class × subject × ADMIN_ALLOW_DANGEROUS', () => {
  it('the matrix covers every route class and every subject', () => {
    expect(Object.keys(MATRIX.safe).sort()).toEqual(Object.keys(ROUTES).sort());
    expect(COLUMNS.slice().sort()).toEqual(Object.keys(SUBJECTS).sort());
    expect(cases).toHaveLength(2 * 6 * 8);
  });

  it.each(cases)('allowDangerous=$allowDangerous $routeClass × $subject → $expected', ({ allowDangerous, routeClass, subject, expected }) => {
    const decision = evaluate(ROUTES[routeClass], SUBJECTS[subject], { roles: DEFAULT_ROLES, allowDangerous });
    expect(decision.outcome).toBe(expected);
    if (decision.outcome !== 'allow') expect(decision.reason).toEqual(expect.any(String));
  });
});

describe('evaluate: a drop-box link holder sends studies and reads nothing', () => {
  const STUDY = '1.2.840.5';
  const options: PolicyOptions = { roles: DEFAULT_ROLES, allowDangerous: true, studyAccess: { bypassRoles: ['pacs-admin'] } };
  const holder: Subject = { roles: [], dropBox: true };
  const store = (studyUid?: string): Route => ({ class: 'dicomweb-store', prefix: '/pacs', upstreamPath: `/dicom-web/studies${studyUid ? `/${studyUid}` : ''}`, ...(studyUid ? { studyUid } : {}) });
  const read = (upstreamPath: string, uids: Partial<Route> = {}): Route => ({ class: 'dicomweb-read', prefix: '/pacs', upstreamPath, ...uids });
  it.each<[string, Route, string]>([
    ['STOW-RS to /studies', store(), 'allow'],
    ['STOW-RS to /studies/{uid} (its answer would tell what that study holds)', store(STUDY), 'forbidden'],
    ['QIDO-RS studies', read('/dicom-web/studies'), 'forbidden'],
    ['QIDO-RS series of a study', read(`/dicom-web/studies/${STUDY}/series`, { studyUid: STUDY }), 'forbidden'],
    ['WADO-RS study', read(`/dicom-web/studies/${STUDY}`, { studyUid: STUDY }), 'forbidden'],
    ['metadata', read(`/dicom-web/studies/${STUDY}/metadata`, { studyUid: STUDY }), 'forbidden'],
    ['rendered', read(`/dicom-web/studies/${STUDY}/rendered`, { studyUid: STUDY }), 'forbidden'],
    ['WADO-URI naming a study', { class: 'wado-uri', prefix: '/pacs', upstreamPath: '/wado', studyUid: STUDY }, 'forbidden'],
    ['a preview', ROUTES.preview, 'forbidden'],
    ['the admin API', ROUTES.admin, 'forbidden'],
    ['a blocked endpoint, even with ADMIN_ALLOW_DANGEROUS', ROUTES['admin-blocked'], 'forbidden'],
  ])('%s → %s', (_name, route, expected) => {
    const decision = evaluate(route, holder, options);
    expect(decision.outcome).toBe(expected);
    // Never a 404 "not yours": a holder learns nothing about which studies exist.
    expect(decision).not.toHaveProperty('restrictToStudy');
  });

  it('wins over a study scope and over roles', () => {
    expect(evaluate(ROUTES['dicomweb-read'], { roles: ['pacs-admin'], studyScope: STUDY, dropBox: true }, options).outcome).toBe('forbidden');
  });
});

describe('evaluate: ADMIN_ALLOW_ENDPOINTS opens blocked endpoints one by one', () => {
  const echo: Route = { class: 'admin-blocked', prefix: '/pacs-admin', upstreamPath: '/tools/dicom-echo', blocked: { name: 'dicom-echo', reason: 'connects' } };
  const admin = { roles: ['pacs-admin'] };
  it.each([
    { allowEndpoints: [], allowDangerous: false, subject: admin, expected: 'forbidden' },
    { allowEndpoints: ['modality-echo', 'execute-script'], allowDangerous: false, subject: admin, expected: 'forbidden' },
    { allowEndpoints: ['dicom-echo'], allowDangerous: false, subject: admin, expected: 'allow' },
    { allowEndpoints: ['peer-store', 'dicom-echo'], allowDangerous: false, subject: admin, expected: 'allow' },
    { allowEndpoints: [], allowDangerous: true, subject: admin, expected: 'allow' },
    // Opening an endpoint opens it to admins only.
    { allowEndpoints: ['dicom-echo'], allowDangerous: false, subject: { roles: ['pacs-viewer', 'pacs-uploader'] }, expected: 'forbidden' },
    { allowEndpoints: ['dicom-echo'], allowDangerous: false, subject: { roles: ['pacs-admin'], studyScope: '1.2.3' }, expected: 'forbidden' },
  ])('allowEndpoints=$allowEndpoints allowDangerous=$allowDangerous → $expected', ({ allowEndpoints, allowDangerous, subject, expected }) => {
    expect(evaluate(echo, subject, { roles: DEFAULT_ROLES, allowDangerous, allowEndpoints }).outcome).toBe(expected);
  });

  it('the refusal names the rule and what it does, not the request path', () => {
    const decision = evaluate({ ...echo, upstreamPath: '/tools/dicom-echo/<b>call-us</b>' }, admin, { roles: DEFAULT_ROLES, allowDangerous: false });
    expect(decision).toEqual({ outcome: 'forbidden', reason: 'blocked endpoint dicom-echo: it connects' });
  });
});

describe('evaluate: reasons', () => {
  const options: PolicyOptions = { roles: DEFAULT_ROLES, allowDangerous: false };

  it.each([
    { routeClass: 'dicomweb-read', required: ['pacs-viewer', 'pacs-uploader', 'pacs-admin'] },
    { routeClass: 'wado-uri', required: ['pacs-viewer', 'pacs-uploader', 'pacs-admin'] },
    { routeClass: 'preview', required: ['pacs-viewer', 'pacs-uploader', 'pacs-admin'] },
    { routeClass: 'dicomweb-store', required: ['pacs-uploader', 'pacs-admin'] },
    { routeClass: 'admin', required: ['pacs-admin'] },
  ] as const)('a forbidden $routeClass names the roles $required', ({ routeClass, required }) => {
    const decision = evaluate(ROUTES[routeClass], { roles: ['unrelated'] }, options);
    expect(decision.outcome).toBe('forbidden');
    if (decision.outcome === 'forbidden') for (const role of required) expect(decision.reason).toContain(role);
  });

  it('a forbidden store does not offer the viewer role', () => {
    const decision = evaluate(ROUTES['dicomweb-store'], { roles: ['pacs-viewer'] }, options);
    expect(decision).toEqual({ outcome: 'forbidden', reason: expect.not.stringContaining('pacs-viewer') });
  });

  it('a blocked endpoint says it is blocked and why, even to an admin', () => {
    const decision = evaluate(ROUTES['admin-blocked'], { roles: ['pacs-admin'] }, options);
    expect(decision).toEqual({ outcome: 'forbidden', reason: expect.stringMatching(/blocked/) });
    if (decision.outcome === 'forbidden') expect(decision.reason).toContain('Lua');
  });

  it('a blocked endpoint without a recorded rule is still refused', () => {
    const { blocked: _ignored, ...route } = ROUTES['admin-blocked'];
    expect(evaluate(route, { roles: ['pacs-admin'] }, options)).toEqual({ outcome: 'forbidden', reason: expect.stringMatching(/blocked/) });
    expect(evaluate(route, { roles: ['pacs-admin'] }, { ...options, allowEndpoints: ['execute-script', 'unknown'] }).outcome).toBe('forbidden');
  });

  it('anonymous callers are asked to authenticate before anything else, blocked endpoints included', () => {
    for (const route of Object.values(ROUTES)) {
      expect(evaluate(route, null, options)).toEqual({ outcome: 'unauthenticated', reason: expect.any(String) });
    }
  });
});

describe('evaluate: configurable role names', () => {
  const CUSTOM = { viewer: 'radiology-read', uploader: 'radiology-write', admin: 'it-ops' };
  const custom: PolicyOptions = { roles: CUSTOM, allowDangerous: true };

  it.each([
    { roles: ['radiology-read'], routeClass: 'dicomweb-read', expected: 'allow' },
    { roles: ['radiology-read'], routeClass: 'dicomweb-store', expected: 'forbidden' },
    { roles: ['radiology-write'], routeClass: 'dicomweb-store', expected: 'allow' },
    { roles: ['radiology-write'], routeClass: 'preview', expected: 'allow' },
    { roles: ['radiology-write'], routeClass: 'admin', expected: 'forbidden' },
    { roles: ['it-ops'], routeClass: 'admin', expected: 'allow' },
    { roles: ['it-ops'], routeClass: 'admin-blocked', expected: 'allow' },
    { roles: ['it-ops'], routeClass: 'wado-uri', expected: 'allow' },
    // The default names mean nothing once the roles are renamed.
    { roles: ['pacs-viewer'], routeClass: 'dicomweb-read', expected: 'forbidden' },
    { roles: ['pacs-viewer'], routeClass: 'wado-uri', expected: 'forbidden' },
    { roles: ['pacs-uploader'], routeClass: 'dicomweb-store', expected: 'forbidden' },
    { roles: ['pacs-admin'], routeClass: 'admin', expected: 'forbidden' },
    { roles: ['pacs-admin'], routeClass: 'admin-blocked', expected: 'forbidden' },
    { roles: ['pacs-viewer', 'pacs-uploader', 'pacs-admin'], routeClass: 'preview', expected: 'forbidden' },
    // Role names are exact strings.
    { roles: ['Radiology-Read'], routeClass: 'dicomweb-read', expected: 'forbidden' },
    { roles: ['radiology-read '], routeClass: 'dicomweb-read', expected: 'forbidden' },
  ] as const)('roles $roles on $routeClass → $expected', ({ roles, routeClass, expected }) => {
    expect(evaluate(ROUTES[routeClass], { roles }, custom).outcome).toBe(expected);
  });

  it('a forbidden reason names the renamed roles', () => {
    const decision = evaluate(ROUTES['dicomweb-store'], { roles: ['pacs-uploader'] }, custom);
    expect(decision).toEqual({ outcome: 'forbidden', reason: expect.stringContaining('radiology-write') });
    if (decision.outcome === 'forbidden') {
      expect(decision.reason).toContain('it-ops');
      expect(decision.reason).not.toContain('pacs-');
    }
  });
});

describe('evaluate: per-study access from a claim (table)', () => {
  const restricted: PolicyOptions = { roles: DEFAULT_ROLES, allowDangerous: false, studyAccess: { bypassRoles: ['pacs-admin'] } };
  const ORTHANC_ID = '6b9e19d9-62094390-5f9ddb01-4a191ae7-9766b715';
  const STUDY = '1.2.3';
  const at = (route: Partial<Route> & Pick<Route, 'class'>): Route => ({ prefix: '/pacs', upstreamPath: '/x', ...route });
  const A = ['Hospital A'];

  it.each([
    // route, subject, expected decision
    ['a search across studies', at({ class: 'dicomweb-read' }), { roles: ['pacs-viewer'], studyAccess: A }, { outcome: 'allow', studyAccess: { kind: 'search', allowed: A } }],
    ['a search without the claim (filtered to nothing)', at({ class: 'dicomweb-read' }), { roles: ['pacs-viewer'] }, { outcome: 'allow', studyAccess: { kind: 'search', allowed: [] } }],
    ['a read of one study', at({ class: 'dicomweb-read', studyUid: STUDY }), { roles: ['pacs-viewer'], studyAccess: A }, { outcome: 'allow', studyAccess: { kind: 'study', studyUid: STUDY, allowed: A } }],
    ['WADO-URI naming its study', at({ class: 'wado-uri', studyUid: STUDY }), { roles: ['pacs-viewer'], studyAccess: A }, { outcome: 'allow', studyAccess: { kind: 'study', studyUid: STUDY, allowed: A } }],
    ['a preview by Orthanc id', at({ class: 'preview', orthancId: ORTHANC_ID }), { roles: ['pacs-viewer'], studyAccess: A }, { outcome: 'allow', studyAccess: { kind: 'instance', orthancId: ORTHANC_ID, allowed: A } }],
    ['WADO-URI without a studyUID', at({ class: 'wado-uri' }), { roles: ['pacs-viewer'], studyAccess: A }, { outcome: 'forbidden', reason: expect.stringContaining('studyUID') }],
    ['a read without the claim (no lookup needed)', at({ class: 'dicomweb-read', studyUid: STUDY }), { roles: ['pacs-viewer'], studyAccess: [] }, { outcome: 'forbidden', reason: expect.stringContaining('not granted') }],
    ['an upload', at({ class: 'dicomweb-store' }), { roles: ['pacs-uploader'], studyAccess: A }, { outcome: 'forbidden', reason: expect.stringContaining('uploads') }],
    ['the admin API to an admin (the default bypass role)', at({ class: 'admin', prefix: '/pacs-admin' }), { roles: ['pacs-admin'], studyAccess: A }, { outcome: 'allow' }],
    ['a bypass role: no check at all', at({ class: 'dicomweb-read', studyUid: STUDY }), { roles: ['pacs-viewer', 'pacs-admin'] }, { outcome: 'allow' }],
    ['roles are checked first', at({ class: 'dicomweb-store' }), { roles: ['pacs-viewer'], studyAccess: A }, { outcome: 'forbidden', reason: expect.stringContaining('requires one of the roles') }],
    ['a share-link recipient keeps its own scope', at({ class: 'dicomweb-read', studyUid: STUDY }), { roles: [], studyScope: STUDY }, { outcome: 'allow' }],
  ] as Array<[string, Route, Subject, unknown]>)('%s', (_name, route, subject, expected) => {
    expect(evaluate(route, subject, restricted)).toEqual(expected);
  });

  it('refuses the admin API to an admin role that does not bypass', () => {
    const options: PolicyOptions = { ...restricted, studyAccess: { bypassRoles: ['pacs-auditor'] } };
    expect(evaluate(at({ class: 'admin', prefix: '/pacs-admin' }), { roles: ['pacs-admin'], studyAccess: A }, options)).toEqual({
      outcome: 'forbidden',
      reason: expect.stringContaining('admin API'),
    });
  });

  it('changes nothing when per-study access is off', () => {
    expect(evaluate(at({ class: 'dicomweb-read', studyUid: STUDY }), { roles: ['pacs-viewer'], studyAccess: [] }, { roles: DEFAULT_ROLES, allowDangerous: false })).toEqual({ outcome: 'allow' });
  });
});
