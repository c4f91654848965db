/**
 * Keycloak access-token claims → Principal.
 */
import { describe, expect, it } from '@jest/globals';
import type { JWTPayload } from 'jose';
import { claimValues, principalFromClaims, rolesFromClaims } from '../../../src/auth/principal.js';

const CLIENT = 'orthanc-gateway';

/** A typical Keycloak 26 access token body. */
const KEYCLOAK_TOKEN: JWTPayload = {
  exp: 1_900_000_000,
  iat: 1_899_999_700,
  jti: 'onrtac:3f1c',
  iss: 'http://localhost:8081/realms/orthanc',
  aud: ['orthanc-gateway', 'account'],
  sub: 'f3a1c2d4-5b6e-4f70-8a9b-0c1d2e3f4a5b',
  typ: 'Bearer',
  azp: 'ohif-viewer',
  sid: '8c2b7a4e',
  realm_access: { roles: ['default-roles-orthanc', 'offline_access', 'pacs-viewer'] },
  resource_access: {
    account: { roles: ['manage-account', 'view-profile'] },
    'orthanc-gateway': { roles: ['pacs-uploader'] },
  },
  scope: 'openid profile email',
  email_verified: true,
  name: 'Vera Viewer',
  preferred_username: 'viewer',
  given_name: 'Vera',
  family_name: 'Viewer',
  email: 'viewer@example.org',
};

describe('principalFromClaims', () => {
  it('maps a Keycloak access token', () => {
    expect(principalFromClaims(KEYCLOAK_TOKEN, 'bearer', undefined)).toEqual({
      sub: 'f3a1c2d4-5b6e-4f70-8a9b-0c1d2e3f4a5b',
      username: 'viewer',
      name: 'Vera Viewer',
      email: 'viewer@example.org',
      roles: ['default-roles-orthanc', 'offline_access', 'pacs-viewer'],
      via: 'bearer',
      expiresAt: 1_900_000_000,
      clientId: 'ohif-viewer',
    });
  });

  it('adds the configured client roles', () => {
    expect(principalFromClaims(KEYCLOAK_TOKEN, 'session', CLIENT)).toMatchObject({
      roles: ['default-roles-orthanc', 'offline_access', 'pacs-viewer', 'pacs-uploader'],
      via: 'session',
    });
  });

  it.each([
    { case: 'preferred_username missing', claims: { sub: 'u1' }, username: 'u1' },
    { case: 'preferred_username empty', claims: { sub: 'u1', preferred_username: '' }, username: 'u1' },
    { case: 'preferred_username not a string', claims: { sub: 'u1', preferred_username: 42 }, username: 'u1' },
    { case: 'preferred_username present', claims: { sub: 'u1', preferred_username: 'alice' }, username: 'alice' },
  ])('username: $case → $username', ({ claims, username }) => {
    expect(principalFromClaims(claims, 'bearer', undefined).username).toBe(username);
  });

  it.each([
    { case: 'absent', claims: { sub: 'u1' }, name: undefined, email: undefined },
    { case: 'empty', claims: { sub: 'u1', name: '', email: '' }, name: undefined, email: undefined },
    { case: 'not strings', claims: { sub: 'u1', name: ['x'], email: { a: 1 } }, name: undefined, email: undefined },
    { case: 'present', claims: { sub: 'u1', name: 'Al Ice', email: 'a@example.org' }, name: 'Al Ice', email: 'a@example.org' },
  ])('name/email $case', ({ claims, name, email }) => {
    expect(principalFromClaims(claims, 'bearer', undefined)).toMatchObject({ name, email });
  });

  it.each([
    { case: 'exp present', claims: { sub: 'u1', exp: 1234 }, expiresAt: 1234 },
    { case: 'exp absent', claims: { sub: 'u1' }, expiresAt: 0 },
    { case: 'exp a string', claims: { sub: 'u1', exp: '1234' as unknown as number }, expiresAt: 0 },
  ])('expiresAt: $case → $expiresAt', ({ claims, expiresAt }) => {
    expect(principalFromClaims(claims, 'bearer', undefined).expiresAt).toBe(expiresAt);
  });

  it.each([
    { case: 'missing sub', claims: { preferred_username: 'alice', realm_access: { roles: ['pacs-admin'] } } },
    { case: 'empty sub', claims: { sub: '' } },
    { case: 'numeric sub', claims: { sub: 42 as unknown as string } },
    { case: 'null sub', claims: { sub: null as unknown as string } },
  ])('throws on $case', ({ claims }) => {
    expect(() => principalFromClaims(claims, 'bearer', undefined)).toThrow(/subject/);
  });
});

describe('rolesFromClaims', () => {
  it.each([
    { case: 'no role claims at all', claims: {}, client: undefined, roles: [] },
    { case: 'realm roles', claims: { realm_access: { roles: ['pacs-viewer', 'pacs-admin'] } }, client: undefined, roles: ['pacs-viewer', 'pacs-admin'] },
    { case: 'empty realm roles', claims: { realm_access: { roles: [] } }, client: undefined, roles: [] },
    {
      case: 'client roles ignored without rolesClient',
      claims: { resource_access: { [CLIENT]: { roles: ['pacs-admin'] } } },
      client: undefined,
      roles: [],
    },
    {
      case: 'client roles read with rolesClient',
      claims: { resource_access: { [CLIENT]: { roles: ['pacs-admin'] } } },
      client: CLIENT,
      roles: ['pacs-admin'],
    },
    {
      case: 'roles of other clients ignored',
      claims: { resource_access: { account: { roles: ['manage-account'] }, other: { roles: ['pacs-admin'] } } },
      client: CLIENT,
      roles: [],
    },
    {
      case: 'realm then client roles, deduplicated',
      claims: {
        realm_access: { roles: ['pacs-viewer', 'pacs-viewer', 'offline_access'] },
        resource_access: { [CLIENT]: { roles: ['pacs-uploader', 'pacs-viewer', 'pacs-uploader'] } },
      },
      client: CLIENT,
      roles: ['pacs-viewer', 'offline_access', 'pacs-uploader'],
    },
    {
      case: 'non-string junk in role lists ignored',
      claims: {
        realm_access: { roles: ['pacs-viewer', 42, null, { name: 'pacs-admin' }, ['pacs-admin'], true] },
        resource_access: { [CLIENT]: { roles: [undefined, 'pacs-uploader', 7] } },
      },
      client: CLIENT,
      roles: ['pacs-viewer', 'pacs-uploader'],
    },
    { case: 'realm_access.roles a string', claims: { realm_access: { roles: 'pacs-admin' } }, client: undefined, roles: [] },
    { case: 'realm_access.roles an object', claims: { realm_access: { roles: { 0: 'pacs-admin' } } }, client: undefined, roles: [] },
    { case: 'realm_access a string', claims: { realm_access: 'pacs-admin' }, client: undefined, roles: [] },
    { case: 'realm_access null', claims: { realm_access: null }, client: undefined, roles: [] },
    { case: 'realm_access an array', claims: { realm_access: ['pacs-admin'] }, client: undefined, roles: [] },
    { case: 'top-level roles claim not read', claims: { roles: ['pacs-admin'] }, client: undefined, roles: [] },
    { case: 'resource_access null', claims: { resource_access: null }, client: CLIENT, roles: [] },
    { case: 'resource_access.<client> a string', claims: { resource_access: { [CLIENT]: 'pacs-admin' } }, client: CLIENT, roles: [] },
    { case: 'resource_access.<client>.roles a string', claims: { resource_access: { [CLIENT]: { roles: 'pacs-admin' } } }, client: CLIENT, roles: [] },
    { case: 'rolesClient "__proto__"', claims: { realm_access: { roles: ['pacs-viewer'] } }, client: '__proto__', roles: ['pacs-viewer'] },
    { case: 'rolesClient "constructor"', claims: { realm_access: { roles: ['pacs-viewer'] } }, client: 'constructor', roles: ['pacs-viewer'] },
  ] as Array<{ case: string; claims: Record<string, unknown>; client: string | undefined; roles: string[] }>)(
    '$case',
    ({ claims, client, roles }) => {
      expect(rolesFromClaims(claims as JWTPayload, client)).toEqual(roles);
      expect(principalFromClaims({ sub: 'u1', ...claims } as JWTPayload, 'bearer', client).roles).toEqual(roles);
    },
  );
});

describe('per-study access claim', () => {
  it.each([
    { case: 'a string', claims: { institution: 'Hospital A' }, path: 'institution', values: ['Hospital A'] },
    { case: 'an array (Keycloak multivalued attribute, groups)', claims: { groups: ['/a', '/b'] }, path: 'groups', values: ['/a', '/b'] },
    { case: 'a nested claim', claims: { attributes: { institution: ['X'] } }, path: 'attributes.institution', values: ['X'] },
    { case: 'non-strings dropped', claims: { institution: ['A', 3, null, { x: 1 }] }, path: 'institution', values: ['A'] },
    { case: 'a number', claims: { institution: 7 }, path: 'institution', values: [] },
    { case: 'an object', claims: { institution: { name: 'A' } }, path: 'institution', values: [] },
    { case: 'missing', claims: {}, path: 'institution', values: [] },
    { case: 'missing parent', claims: { attributes: 'x' }, path: 'attributes.institution', values: [] },
  ])('$case → $values', ({ claims, path, values }) => {
    expect(claimValues(claims as JWTPayload, path)).toEqual(values);
    expect(principalFromClaims({ sub: 'u1', ...claims } as JWTPayload, 'bearer', undefined, path).studyAccess).toEqual(values);
  });

  it('is left out when per-study access is off', () => {
    expect(principalFromClaims({ sub: 'u1', institution: 'A' }, 'bearer', undefined)).not.toHaveProperty('studyAccess');
  });
});

describe('principalFromClaims: SMART apps (SMART_CLIENTS)', () => {
  const SMART = { clients: ['imaging-app'], patientClaim: 'patient' };
  const appToken = (claims: JWTPayload): JWTPayload => ({ sub: 'p1', azp: 'imaging-app', ...claims });

  it.each([
    // claims, the principal's smart part (undefined: not governed by SMART scopes)
    [{ scope: 'openid patient/ImagingStudy.rs', patient: 'PAT-1' }, { grants: { patient: ['r', 's'] }, patient: ['PAT-1'] }],
    [{ scope: 'patient/*.read', patient: ['PAT-1', 'PAT-2'] }, { grants: { patient: ['r', 's'] }, patient: ['PAT-1', 'PAT-2'] }],
    [{ scope: 'patient/ImagingStudy.rs' }, { grants: { patient: ['r', 's'] }, patient: [] }], // no patient context
    [{ scope: 'patient/ImagingStudy.rs', patient: ' ' }, { grants: { patient: ['r', 's'] }, patient: [] }], // blank names nobody
    [{ scope: 'patient/ImagingStudy.rs', patient: 42 }, { grants: { patient: ['r', 's'] }, patient: [] }],
    [{ patient: 'PAT-1' }, { grants: {}, patient: ['PAT-1'] }], // no scope claim: no grants
    [{ azp: 'ohif-viewer', scope: 'patient/ImagingStudy.rs', patient: 'PAT-1' }, undefined], // another app: roles govern
    [{ azp: undefined, client_id: 'imaging-app', scope: 'user/*.rs' }, { grants: { user: ['r', 's'] }, patient: [] }], // introspection answer
  ])('%j → %j', (claims, smart) => {
    expect(principalFromClaims(appToken(claims as JWTPayload), 'bearer', undefined, undefined, SMART).smart).toEqual(smart);
  });

  it('reads a patient claim by dotted path', () => {
    const claims = appToken({ scope: 'patient/ImagingStudy.rs', context: { dicom_patient_id: 'PAT-9' } });
    expect(principalFromClaims(claims, 'bearer', undefined, undefined, { ...SMART, patientClaim: 'context.dicom_patient_id' }).smart?.patient).toEqual(['PAT-9']);
  });

  it('leaves SMART out when it is not configured', () => {
    expect(principalFromClaims(appToken({ scope: 'patient/ImagingStudy.rs', patient: 'PAT-1' }), 'bearer', undefined)).not.toHaveProperty('smart');
  });
});
