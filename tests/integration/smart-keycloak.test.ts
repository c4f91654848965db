import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import KcAdminClient from '@keycloak/keycloak-admin-client';
import { UnmanagedAttributePolicy } from '@keycloak/keycloak-admin-client/lib/defs/userProfileMetadata.js';
import { decodeJwt } from 'jose';
import { makeSeries, type GeneratedSeries } from '../support/dicom.js';
import { ACCEPT_DICOM_JSON, tagValues } from '../support/dicomweb.js';
import { signInWithCodeFlow } from '../support/dev-idp-login.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startKeycloak, type KeycloakServer } from '../support/keycloak.js';
import { startOrthanc, uploadInstances, type TestOrthanc } from '../support/orthanc.js';
import { DEV_PASSWORDS } from '../support/session-stack.js';
import { expectStudyNotFound } from '../support/study-access.js';

/**
 * A patient-context token from the real Keycloak (issue 20): the realm export imported as shipped,
 * then — through the admin API, as a site would by hand — an optional client scope
 * `patient/ImagingStudy.rs` whose mapper puts the user attribute `patient_id` into the `patient`
 * claim, and a patient account (`norole`, no PACS role) with that attribute. The gateway governs the
 * client by SMART scopes: the patient sees only their own studies.
 */
const SECRET = 'smart-keycloak-test-secret';
const CLIENT = 'orthanc-gateway';
const SCOPE = 'patient/ImagingStudy.rs';
const PATIENT = 'norole';

let keycloak: KeycloakServer;
let orthanc: TestOrthanc;
let gateway: TestGateway;
let own: GeneratedSeries;
let other: GeneratedSeries;

async function seed(patientId: string): Promise<GeneratedSeries> {
  const series = makeSeries({ modality: 'CT', patientName: `Keycloak^${patientId}`, patientId, rows: 16, columns: 16, instances: 1 });
  await uploadInstances(orthanc, series.files);
  return series;
}

const signIn = (scope: string) =>
  signInWithCodeFlow({
    issuer: keycloak.issuer,
    clientId: CLIENT,
    clientSecret: SECRET,
    redirectUri: 'http://localhost:8080/auth/callback',
    username: PATIENT,
    password: DEV_PASSWORDS[PATIENT]!,
    scope,
  });

const get = (path: string, token: string) => fetch(`${gateway.url}${path}`, { headers: { authorization: `Bearer ${token}`, accept: ACCEPT_DICOM_JSON } });

/** What a site sets up in Keycloak for patient-context apps (the realm export does not have it yet). */
async function addPatientScope(admin: KcAdminClient): Promise<void> {
  const profile = await admin.users.getProfile();
  await admin.users.updateProfile({ ...profile, unmanagedAttributePolicy: UnmanagedAttributePolicy.AdminEdit });
  const { id: scopeId } = await admin.clientScopes.create({
    name: SCOPE,
    protocol: 'openid-connect',
    attributes: { 'include.in.token.scope': 'true', 'display.on.consent.screen': 'false' },
  });
  await admin.clientScopes.addProtocolMapper({ id: scopeId }, {
    name: 'patient',
    protocol: 'openid-connect',
    protocolMapper: 'oidc-usermodel-attribute-mapper',
    config: { 'user.attribute': 'patient_id', 'claim.name': 'patient', 'jsonType.label': 'String', 'access.token.claim': 'true', 'introspection.token.claim': 'true', 'id.token.claim': 'false', 'userinfo.token.claim': 'false' },
  });
  const [client] = await admin.clients.find({ clientId: CLIENT });
  await admin.clients.addOptionalClientScope({ id: client!.id!, clientScopeId: scopeId });
  const [user] = await admin.users.find({ username: PATIENT, exact: true });
  await admin.users.update({ id: user!.id! }, { ...user, attributes: { ...user!.attributes, patient_id: ['P-KC-1'] } });
}

beforeAll(async () => {
  [keycloak, orthanc] = await Promise.all([startKeycloak({ env: { OIDC_CLIENT_SECRET: SECRET } }), startOrthanc()]);
  own = await seed('P-KC-1');
  other = await seed('P-KC-2');
  const admin = new KcAdminClient({ baseUrl: keycloak.url, realmName: 'orthanc' });
  admin.registerTokenProvider({ getAccessToken: () => keycloak.adminToken() });
  await addPatientScope(admin);
  gateway = await startTestGateway({
    OIDC_ISSUER: keycloak.issuer,
    OIDC_CLIENT_SECRET: SECRET,
    ORTHANC_URL: orthanc.url,
    ORTHANC_USERNAME: orthanc.username,
    ORTHANC_PASSWORD: orthanc.password,
    SMART_CLIENTS: CLIENT,
  });
}, 300_000);

afterAll(async () => {
  await gateway?.close(1000);
  await Promise.all([keycloak?.stop(), orthanc?.stop()]);
}, 60_000);

describe('a patient-context token from Keycloak', () => {
  it('carries the scope, the patient claim and the client; the patient sees and reads only their own study', async () => {
    const token = (await signIn(`openid ${SCOPE}`)).access_token;
    const claims = decodeJwt(token);
    expect(String(claims['scope']).split(' ')).toContain(SCOPE);
    expect(claims['patient']).toBe('P-KC-1');
    expect(claims['azp']).toBe(CLIENT);
    const found = await get('/pacs/dicom-web/studies', token);
    expect(found.status).toBe(200);
    expect(tagValues(await found.json(), '0020000D')).toEqual([own.studyInstanceUid]);
    expect((await get(`/pacs/dicom-web/studies/${own.studyInstanceUid}/metadata`, token)).status).toBe(200);
    await expectStudyNotFound(await get(`/pacs/dicom-web/studies/${other.studyInstanceUid}/metadata`, token));
  }, 120_000);

  it('without the scope asked for, the same account reaches nothing (no role, no grant)', async () => {
    const token = (await signIn('openid')).access_token;
    expect(decodeJwt(token)['patient']).toBeUndefined();
    expect((await get('/pacs/dicom-web/studies', token)).status).toBe(403);
    expect((await get(`/pacs/dicom-web/studies/${own.studyInstanceUid}/metadata`, token)).status).toBe(403);
  }, 120_000);
});
