import { describe, expect, test } from '@jest/globals';
import type { Request, Response } from 'express';
import type { JWTPayload } from 'jose';
import { authenticate, type AuthenticateOptions } from '../../../src/authenticate/authenticate.js';
import type { Principal } from '../../../src/auth/principal.js';

const claims: JWTPayload = { sub: 'u-1', preferred_username: 'ada', exp: 4_000_000_000, realm_access: { roles: ['viewer'] }, azp: 'app' };

function options(verified: () => JWTPayload, extra: Partial<AuthenticateOptions> = {}, cached: () => JWTPayload | undefined = () => undefined): AuthenticateOptions {
  return {
    bearer: { verify: async () => verified(), verified: cached },
    sessionPrincipal: Object.assign(async () => null, { cached: () => undefined }),
    rolesClient: undefined,
    studyAccessClaim: undefined,
    publicOrigin: 'https://pacs.example.org',
    ...extra,
  };
}

async function principalOf(stage: ReturnType<typeof authenticate>, token = 'abc.def.ghi'): Promise<Principal | null> {
  const req = { headersDistinct: { authorization: [`Bearer ${token}`] }, method: 'GET' } as unknown as Request;
  const res = { locals: {} } as unknown as Response;
  await new Promise<void>((resolve, reject) => void stage(req, res, (error?: unknown) => (error ? reject(error) : resolve())));
  return (res.locals as { principal: Principal | null }).principal;
}

describe('authenticate: Bearer principals', () => {
  test('the same verified claims give the same (frozen) principal, built once', async () => {
    const stage = authenticate(options(() => claims));
    const first = await principalOf(stage);
    expect(first).toMatchObject({ sub: 'u-1', username: 'ada', roles: ['viewer'], via: 'bearer' });
    expect(Object.isFrozen(first)).toBe(true);
    expect(await principalOf(stage)).toBe(first);
  });

  test('other claims objects (another token, a re-verification) get their own principal', async () => {
    const stage = authenticate(options(() => ({ ...claims })));
    const first = await principalOf(stage);
    const second = await principalOf(stage);
    expect(second).toEqual(first);
    expect(second).not.toBe(first);
  });

  test('a principal whose patient context came from the FHIR lookup is looked up each time', async () => {
    const smartClaims: JWTPayload = { ...claims, scope: 'patient/ImagingStudy.rs', patient: 'fhir-7' };
    let lookups = 0;
    const fhirPatients = { dicomIds: async (ids: string[]) => (lookups++, ids.map((id) => `dicom-${id}`)) };
    const stage = authenticate(options(() => smartClaims, { smart: { clients: ['app'], patientClaim: 'patient' }, fhirPatients: fhirPatients as unknown as AuthenticateOptions['fhirPatients'] }));
    expect((await principalOf(stage))?.smart?.patient).toEqual(['dicom-fhir-7']);
    expect((await principalOf(stage))?.smart?.patient).toEqual(['dicom-fhir-7']);
    expect(lookups).toBe(2);
  });

  test('a cached verification with a known principal is answered synchronously; a cached one not yet seen goes through verify once', async () => {
    let verifications = 0;
    const stage = authenticate(options(() => (verifications++, claims), {}, () => claims));
    const first = await principalOf(stage); // the claims are cached, their principal not yet built
    expect(verifications).toBe(1);
    const req = { headersDistinct: { authorization: ['Bearer abc.def.ghi'] }, method: 'GET' } as unknown as Request;
    const res = { locals: {} } as unknown as Response;
    let nextCalls = 0;
    expect(stage(req, res, () => void nextCalls++)).toBeUndefined();
    expect(nextCalls).toBe(1);
    expect((res.locals as { principal: Principal }).principal).toBe(first);
    expect(verifications).toBe(1);
  });

  test('a malformed Authorization header is refused before any cache look-up', () => {
    let lookups = 0;
    const stage = authenticate(options(() => claims, {}, () => (lookups++, claims)));
    const req = { headersDistinct: { authorization: ['Bearer a b'] }, method: 'GET' } as unknown as Request;
    expect(() => stage(req, { locals: {} } as unknown as Response, () => undefined)).toThrow('The Authorization header is not "Bearer <token>"');
    expect(lookups).toBe(0);
  });
});

describe('authenticate: browser sessions', () => {
  const sessionUser: Principal = { sub: 'u-2', username: 'bob', name: undefined, email: undefined, roles: ['viewer'], via: 'session', expiresAt: 4_000_000_000 };
  const withSession = (loads: { count: number }) =>
    options(() => claims, { sessionPrincipal: Object.assign(async () => (loads.count++, sessionUser), { cached: (req: { headers: { cookie?: string } }) => (req.headers.cookie === 'gw=verified' ? sessionUser : undefined) }) });
  const request = (method: string, cookie: string, origin?: string) =>
    ({ method, headersDistinct: {}, headers: { cookie, ...(origin ? { origin } : {}) }, get: (name: string) => (name === 'origin' ? origin : undefined) }) as unknown as Request;

  test('a session verified moments ago is answered synchronously; another one is loaded', async () => {
    const loads = { count: 0 };
    const stage = authenticate(withSession(loads));
    const res = { locals: {} } as unknown as Response;
    let nextCalls = 0;
    expect(stage(request('GET', 'gw=verified'), res, () => void nextCalls++)).toBeUndefined();
    expect([nextCalls, loads.count, (res.locals as { principal: Principal }).principal]).toEqual([1, 0, sessionUser]);
    const other = { locals: {} } as unknown as Response;
    await stage(request('GET', 'gw=other'), other, () => undefined);
    expect([loads.count, (other.locals as { principal: Principal }).principal]).toEqual([1, sessionUser]);
  });

  test('a cross-site state change is refused on the synchronous path too', () => {
    const stage = authenticate(withSession({ count: 0 }));
    const call = (origin: string) => stage(request('POST', 'gw=verified', origin), { locals: {} } as unknown as Response, () => undefined);
    expect(() => call('https://evil.example')).toThrow('Cross-site request refused');
    expect(() => call('https://pacs.example.org')).not.toThrow();
  });
});
