import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import KcAdminClient from '@keycloak/keycloak-admin-client';
import { decodeJwt } from 'jose';
import { applySetup } from '../../src/keycloak-setup/apply.js';
import { diagnose, type DoctorExpectations } from '../../src/keycloak-setup/checks.js';
import { readSnapshot } from '../../src/keycloak-setup/snapshot.js';
import { wantedState } from '../../src/keycloak-setup/wanted-state.js';
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
 * then `npm run keycloak -- setup --smart-clients orthanc-gateway` (its apply step, in process): an
 * optional client scope `patient/ImagingStudy.rs` whose mapper puts the user attribute `patient_id`
 * (declared in the user profile) into the `patient` claim; the export's patient account (`patient`,
 * no PACS role, patient_id DEV-CT-1, imported before the attribute was declared). The gateway
 * governs the client by SMART scopes: the patient sees only their own studies.
 */
const SECRET = 'smart-keycloak-test-secret';
const CLIENT = 'orthanc-gateway';
const SCOPE = 'patient/ImagingStudy.rs';
const PATIENT = 'patient';

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

const TARGET: DoctorExpectations = {
  publicUrl: 'http://localhost:8080',
  clientId: CLIENT,
  audience: CLIENT,
  roles: ['pacs-viewer', 'pacs-uploader', 'pacs-admin'],
  groupsMapper: true,
  ohifClientId: 'ohif-viewer',
  smartClients: [CLIENT],
  tokenValidation: 'jwt',
  maxAccessTokenSeconds: 900,
};

const smartFindings = async (admin: KcAdminClient) =>
  diagnose(await readSnapshot(admin, [CLIENT]), TARGET).filter((finding) => finding.id.startsWith('smart-'));

let setupChanges: string[];
let doctorBefore: string[];
let doctorAfter: string[];

/** `npm run keycloak -- setup --smart-clients orthanc-gateway` on the imported realm; the export's `patient` account has its patient_id from the import. */
async function addPatientScope(admin: KcAdminClient): Promise<void> {
  doctorBefore = (await smartFindings(admin)).map((finding) => finding.id);
  setupChanges = (await applySetup(admin, wantedState(TARGET))).changes.map((change) => change.what);
  doctorAfter = (await smartFindings(admin)).map((finding) => finding.id);
}

beforeAll(async () => {
  [keycloak, orthanc] = await Promise.all([startKeycloak({ env: { OIDC_CLIENT_SECRET: SECRET } }), startOrthanc()]);
  own = await seed('DEV-CT-1');
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

describe('setup --smart-clients on the imported realm', () => {
  it('doctor reports the missing patient scope before, nothing after; setup adds only the SMART pieces', () => {
    expect(doctorBefore).toEqual(['smart-scope-missing']);
    expect(doctorAfter).toEqual([]);
    expect(setupChanges).toEqual([
      'user profile attribute patient_id',
      'client scope patient/ImagingStudy.rs',
      'mapper "patient" of client scope patient/ImagingStudy.rs',
      `optional client scope patient/ImagingStudy.rs of client ${CLIENT}`,
    ]);
  });
});

describe('a patient-context token from Keycloak', () => {
  it('carries the scope, the patient claim and the client; the patient sees and reads only their own study', async () => {
    const token = (await signIn(`openid ${SCOPE}`)).access_token;
    const claims = decodeJwt(token);
    expect(String(claims['scope']).split(' ')).toContain(SCOPE);
    expect(claims['patient']).toBe('DEV-CT-1');
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
