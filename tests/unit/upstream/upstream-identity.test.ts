/**
 * Who the gateway is towards Orthanc: per-role Orthanc credential selection (first configured
 * role the caller holds wins) and identity header values that are always safe and never merge
 * two different identities.
 */
import { describe, expect, it } from '@jest/globals';
import type { Principal } from '../../../src/auth/principal.js';
import { loadConfig } from '../../../src/config/load.js';
import {
  basicAuthorization,
  createUpstreamIdentity,
  encodeHeaderValue,
  identityHeaderValues,
  selectByRole,
} from '../../../src/upstream/upstream-identity.js';

const basic = (userPassword: string) => `Basic ${Buffer.from(userPassword).toString('base64')}`;

describe('selectByRole: first configured role the caller holds', () => {
  const byRole = [
    ['pacs-auditor', 'auditor-user'],
    ['pacs-admin', 'admin-user'],
    ['pacs-viewer', 'viewer-user'],
  ] as const;

  it.each([
    { roles: ['pacs-viewer'], expected: 'viewer-user' },
    { roles: ['pacs-admin'], expected: 'admin-user' },
    { roles: ['pacs-viewer', 'pacs-admin'], expected: 'admin-user', why: 'configured order wins over token order' },
    { roles: ['pacs-admin', 'pacs-auditor'], expected: 'auditor-user', why: 'configured order wins over token order' },
    { roles: ['pacs-admin', 'pacs-auditor', 'pacs-viewer'], expected: 'auditor-user' },
    { roles: ['pacs-uploader'], expected: 'service', why: 'no mapped role' },
    { roles: [], expected: 'service' },
    { roles: ['PACS-ADMIN', 'pacs-admin '], expected: 'service', why: 'role names match exactly' },
    { roles: ['offline_access', 'pacs-viewer', 'uma_authorization'], expected: 'viewer-user' },
  ])('$roles → $expected', ({ roles, expected }) => {
    expect(selectByRole(roles, byRole, 'service')).toBe(expected);
  });

  it('uses the fallback when nothing is mapped', () => {
    expect(selectByRole(['pacs-admin'], [], 'service')).toBe('service');
  });
});

describe('encodeHeaderValue: safe, and injective', () => {
  it.each([
    ['alice', 'alice'],
    ['alice.smith@example.org', 'alice.smith@example.org'],
    ['a-b_c+d~e!', 'a-b_c+d~e!'],
    ['admin\r\nX-Injected: 1', 'admin%0D%0AX-Injected:%201'],
    ['admin\n', 'admin%0A'],
    ['admin\u0000', 'admin%00'],
    ['admin\t', 'admin%09'],
    ['admin\u007f', 'admin%7F'],
    [' admin ', '%20admin%20'],
    ['John Doe', 'John%20Doe'],
    ['admin%00', 'admin%2500'],
    ['müller', 'm%C3%BCller'],
    ['日本', '%E6%97%A5%E6%9C%AC'],
    ['ａｄｍｉｎ', '%EF%BD%81%EF%BD%84%EF%BD%8D%EF%BD%89%EF%BD%8E'],
    ['bad\uD800', 'bad%EF%BF%BD'],
    ['', ''],
  ])('%j → %s', (input, expected) => {
    const encoded = encodeHeaderValue(input);
    expect(encoded).toBe(expected);
    expect(encoded).toMatch(/^[\x21-\x7e]*$/);
  });

  it('never maps two different names onto one value', () => {
    const names = ['admin', 'admin\u0000', 'admin%00', 'admin ', 'admin\r\n', 'Admin', 'ａｄｍｉｎ', 'admin%2500'];
    const encoded = names.map((name) => encodeHeaderValue(name));
    expect(new Set(encoded).size).toBe(names.length);
  });

  it('also encodes the reserved characters it is given', () => {
    expect(encodeHeaderValue('a,b', ',')).toBe('a%2Cb');
    expect(encodeHeaderValue('a,b')).toBe('a,b');
  });
});

describe('identityHeaderValues', () => {
  it.each([
    { username: 'alice', roles: ['pacs-viewer', 'pacs-admin'], expected: { user: 'alice', roles: 'pacs-viewer,pacs-admin' } },
    { username: 'bob', roles: [], expected: { user: 'bob', roles: '' } },
    { username: 'eve\r\nx-forwarded-user: admin', roles: ['pacs-viewer'], expected: { user: 'eve%0D%0Ax-forwarded-user:%20admin', roles: 'pacs-viewer' } },
    { username: 'carol', roles: ['viewer,pacs-admin'], expected: { user: 'carol', roles: 'viewer%2Cpacs-admin' }, why: 'a comma inside a role cannot forge a second role' },
    { username: 'dave', roles: ['pacs admin', 'x\n'], expected: { user: 'dave', roles: 'pacs%20admin,x%0A' } },
  ])('$username $roles', ({ username, roles, expected }) => {
    expect(identityHeaderValues({ username, roles })).toEqual(expected);
  });
});

describe('createUpstreamIdentity', () => {
  const principal = (username: string, roles: string[]): Principal => ({
    sub: `sub-${username}`,
    username,
    name: undefined,
    email: undefined,
    roles,
    via: 'bearer',
    expiresAt: 0,
  });
  const options = {
    username: 'gateway',
    password: 'svc-pw',
    credentialsByRole: { 'pacs-admin': 'admin-orthanc:adm:pw', 'pacs-viewer': 'viewer-orthanc:vpw' },
    identityHeaders: undefined,
  };

  it('builds the Basic values (password may contain ":")', () => {
    expect(basicAuthorization('admin-orthanc:adm:pw')).toBe(basic('admin-orthanc:adm:pw'));
  });

  it.each([
    { who: 'viewer', roles: ['pacs-viewer'], authorization: basic('viewer-orthanc:vpw'), label: /role "pacs-viewer"/ },
    { who: 'admin', roles: ['pacs-viewer', 'pacs-admin'], authorization: basic('admin-orthanc:adm:pw'), label: /role "pacs-admin"/ },
    { who: 'uploader', roles: ['pacs-uploader'], authorization: basic('gateway:svc-pw'), label: /^service credential$/ },
  ])('selects the Orthanc user of a $who', ({ roles, authorization, label }) => {
    const { credential, headers } = createUpstreamIdentity(options)(principal('u', roles));
    expect(credential.authorization).toBe(authorization);
    expect(credential.label).toMatch(label);
    expect(credential.label).not.toMatch(/pw|orthanc:/);
    expect(headers).toEqual({});
  });

  it('uses the service credential without a principal or without a mapping', () => {
    expect(createUpstreamIdentity(options)(null).credential.authorization).toBe(basic('gateway:svc-pw'));
    expect(createUpstreamIdentity({ ...options, credentialsByRole: undefined })(principal('a', ['pacs-admin'])).credential.authorization).toBe(
      basic('gateway:svc-pw'),
    );
  });

  it('sets the configured identity headers from the principal', () => {
    const resolve = createUpstreamIdentity({ ...options, identityHeaders: { user: 'X-Auth-User', roles: 'X-Auth-Roles' } });
    expect(resolve(principal('alice\r\n', ['pacs-viewer', 'pacs-uploader'])).headers).toEqual({
      'X-Auth-User': 'alice%0D%0A',
      'X-Auth-Roles': 'pacs-viewer,pacs-uploader',
    });
    expect(resolve(null).headers).toEqual({});
  });

  it('follows the JSON order of ORTHANC_CREDENTIALS_BY_ROLE from the environment', () => {
    const config = loadConfig({
      OIDC_ISSUER: 'http://localhost:8081/realms/orthanc',
      ORTHANC_USERNAME: 'gateway',
      ORTHANC_PASSWORD: 'svc-pw',
      ORTHANC_CREDENTIALS_BY_ROLE: '{"pacs-viewer":"viewer-orthanc:v","pacs-admin":"admin-orthanc:a"}',
    });
    const resolve = createUpstreamIdentity(config.orthanc);
    expect(resolve(principal('x', ['pacs-admin', 'pacs-viewer'])).credential.authorization).toBe(basic('viewer-orthanc:v'));
  });
});

describe('configuration of the identity headers', () => {
  const MINIMAL = { OIDC_ISSUER: 'http://localhost:8081/realms/orthanc', ORTHANC_USERNAME: 'gateway', ORTHANC_PASSWORD: 'pw' };
  const problems = (env: Record<string, string>): string[] => {
    try {
      loadConfig({ ...MINIMAL, ...env });
      return [];
    } catch (error) {
      return (error as { problems: string[] }).problems;
    }
  };

  it.each([
    { env: {}, expected: undefined },
    { env: { FORWARD_IDENTITY_HEADERS: 'true' }, expected: { user: 'X-Forwarded-User', roles: 'X-Forwarded-Roles' } },
    { env: { FORWARD_IDENTITY_HEADERS: 'true', IDENTITY_HEADER_USER: 'X-Remote-User', IDENTITY_HEADER_ROLES: 'X-Remote-Groups' }, expected: { user: 'X-Remote-User', roles: 'X-Remote-Groups' } },
    { env: { IDENTITY_HEADER_USER: 'X-Remote-User' }, expected: undefined },
  ])('$env', ({ env, expected }) => {
    expect(loadConfig({ ...MINIMAL, ...env }).orthanc.identityHeaders).toEqual(expected);
  });

  it.each([
    [{ IDENTITY_HEADER_USER: 'X Remote User' }, 'IDENTITY_HEADER_USER'],
    [{ IDENTITY_HEADER_USER: 'X-User\r\nX-Evil' }, 'IDENTITY_HEADER_USER'],
    [{ IDENTITY_HEADER_USER: 'X-User:' }, 'IDENTITY_HEADER_USER'],
    [{ IDENTITY_HEADER_USER: 'Authorization' }, 'IDENTITY_HEADER_USER'],
    [{ IDENTITY_HEADER_ROLES: 'forwarded' }, 'IDENTITY_HEADER_ROLES'],
    [{ IDENTITY_HEADER_ROLES: 'Content-Length' }, 'IDENTITY_HEADER_ROLES'],
    [{ IDENTITY_HEADER_ROLES: 'x-forwarded-user' }, 'IDENTITY_HEADER_ROLES'],
    [{ ORTHANC_CREDENTIALS_BY_ROLE: '{"2":"u:p"}' }, 'ORTHANC_CREDENTIALS_BY_ROLE'],
  ])('%j is refused, naming %s', (env, variable) => {
    const found = problems(env);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(new RegExp(`^${variable}: `));
  });
});
