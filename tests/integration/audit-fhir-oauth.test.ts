import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { makeSeries, type GeneratedSeries } from '../support/dicom.js';
import { ACCEPT_DICOM_JSON } from '../support/dicomweb.js';
import { FhirReceiver, requestIdOfFhir } from '../support/fhir-receiver.js';
import { freePort } from '../support/free-port.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { AUDIT_CLIENT, PROVIDERS, startIdentityProvider, type IdentityProvider, type ProviderName } from '../support/identity-provider.js';
import { metricValue } from '../support/metrics.js';
import { startOrthanc, uploadInstances, type TestOrthanc } from '../support/orthanc.js';
import { waitFor } from '../support/process.js';
import { LogSink } from '../support/session-stack.js';

/**
 * The FHIR audit transport as an OAuth 2.0 client (client credentials grant) of the real identity
 * providers: the dev IdP and Keycloak 26, each with a confidential service-account client. The FHIR
 * receiver takes a resource only with a valid access token of that client (signature against the
 * IdP's JWKS, audience, azp). Covered: delivery with a token, one token for many records, a token
 * the receiver refuses (401: a new token, the record still arrives), a wrong secret (records stay
 * spooled, the log says why without the secret), AUDIT_FHIR_SCOPE (the scope in the token the
 * receiver verified) and a scope the client may not have (invalid_scope, named in the log).
 */

const AUDIT_FAILED = 'audit transport failed: messages wait in the spool and are retried';
/** The start-up check's line (src/audit/token-check.ts), logged once the start-up token request ended. */
const startupLine = (logs: LogSink) =>
  waitFor(() => logs.lines.find((line) => line['check'] === 'audit-fhir-token'), { what: 'the start-up check of the audit token', timeoutMs: 15_000 });

describe.each<ProviderName>(PROVIDERS)('FHIR audit with OAuth client credentials (%s)', (providerName) => {
  let orthanc: TestOrthanc;
  let provider: IdentityProvider;
  let receiver: FhirReceiver;
  let gateway: TestGateway;
  let userToken: string;
  let study: GeneratedSeries;
  const startLogs = new LogSink();
  const started: TestGateway[] = [];

  async function gatewayWith(env: Record<string, string>, logs: LogSink): Promise<TestGateway> {
    const running = await startTestGateway(
      {
        ...provider.gatewayEnv(),
        ORTHANC_URL: orthanc.url, ORTHANC_USERNAME: orthanc.username, ORTHANC_PASSWORD: orthanc.password, LOG_LEVEL: 'info',
        AUDIT_FHIR_URL: `http://127.0.0.1:${receiver.port}/fhir`, AUDIT_FHIR_CLIENT_ID: AUDIT_CLIENT.clientId,
        AUDIT_SPOOL_DIR: mkdtempSync(join(tmpdir(), 'audit-spool-oauth-')), AUDIT_TRANSPORT_TIMEOUT_SECONDS: '5',
        ...env,
      },
      { logDestination: logs },
    );
    started.push(running);
    return running;
  }

  async function read(base = gateway.url): Promise<string> {
    const response = await fetch(`${base}/pacs/dicom-web/studies/${study.studyInstanceUid}/metadata`, { headers: { authorization: `Bearer ${userToken}`, accept: ACCEPT_DICOM_JSON } });
    await response.arrayBuffer();
    expect(response.status).toBe(200);
    return response.headers.get('x-request-id') ?? '';
  }

  const delivered = (requestId: string) =>
    waitFor(() => receiver.resources.some((resource) => requestIdOfFhir(resource) === requestId), { what: `the AuditEvent of ${requestId}`, timeoutMs: 20_000 });

  beforeAll(async () => {
    [orthanc, provider] = await Promise.all([startOrthanc(), startIdentityProvider(providerName, { appOrigin: `http://127.0.0.1:${await freePort()}` })]);
    study = makeSeries({ modality: 'CT', patientName: 'OAuth^Audit', patientId: 'P-OAUTH-AUDIT', instances: 1, rows: 8, columns: 8 });
    await uploadInstances(orthanc, study.files);
    const discovery = (await (await fetch(`${provider.issuer}/.well-known/openid-configuration`)).json()) as { jwks_uri: string };
    receiver = new FhirReceiver(await freePort(), undefined, { issuer: provider.issuer, jwksUri: discovery.jwks_uri, audience: AUDIT_CLIENT.audience, clientId: AUDIT_CLIENT.clientId });
    await receiver.start();
    gateway = await gatewayWith({ AUDIT_FHIR_CLIENT_SECRET: AUDIT_CLIENT.secret }, startLogs);
    userToken = await provider.accessToken('viewer', 'ohif');
  }, 300_000);

  afterAll(async () => {
    await Promise.allSettled(started.map((running) => running.close(1000)));
    await Promise.allSettled([orthanc?.stop(), provider?.stop(), receiver?.stop()]);
  }, 60_000);

  it('the start-up check gets a token and says so (info)', async () => {
    expect(await startupLine(startLogs)).toMatchObject({ level: 30, client: AUDIT_CLIENT.clientId, msg: 'start-up check: the FHIR audit client got an access token' });
  });

  it('delivers every record with an access token of the audit client, one token for many records', async () => {
    const requestIds = [await read(), await read(), await read()];
    for (const requestId of requestIds) await delivered(requestId);
    expect(receiver.refusals).toEqual([]);
    expect(new Set(receiver.tokenClients)).toEqual(new Set([AUDIT_CLIENT.clientId]));
    // One token request at the IdP: every record carried the same token.
    expect(receiver.tokens.length).toBeGreaterThanOrEqual(3);
    expect(new Set(receiver.tokens).size).toBe(1);
  }, 60_000);

  it('a token the FHIR server refuses (401) is dropped: a new one is fetched and the record still arrives', async () => {
    const tokensBefore = new Set(receiver.tokens);
    receiver.refuseNextToken(401);
    const requestId = await read();
    await delivered(requestId);
    expect(receiver.refusals).toEqual(['revoked token']);
    const used = receiver.tokens.at(-1)!;
    expect(tokensBefore.has(used)).toBe(false);
    // …and that new token is reused in turn.
    await delivered(await read());
    expect(receiver.tokens.at(-1)).toBe(used);
  }, 60_000);

  it('a 403 to the token (a missing permission, since given) is not a refusal of the record: a new token, and it arrives', async () => {
    const refusedBefore = receiver.refusals.length;
    const tokenBefore = receiver.tokens.at(-1);
    receiver.refuseNextToken(403);
    await delivered(await read());
    expect(receiver.refusals.slice(refusedBefore)).toEqual(['forbidden']);
    expect(receiver.tokens.at(-1)).not.toBe(tokenBefore);
  }, 60_000);

  it("asks for AUDIT_FHIR_SCOPE: the receiver sees the scope in the token it verified", async () => {
    const scoped = await gatewayWith({ AUDIT_FHIR_CLIENT_SECRET: AUDIT_CLIENT.secret, AUDIT_FHIR_SCOPE: AUDIT_CLIENT.scope }, new LogSink());
    const requestId = await read(scoped.url);
    await delivered(requestId);
    const index = receiver.resources.findIndex((resource) => requestIdOfFhir(resource) === requestId);
    expect(receiver.tokenClients[index]).toBe(AUDIT_CLIENT.clientId);
    expect(receiver.tokenScopes[index]!.split(' ')).toContain(AUDIT_CLIENT.scope);
    // Without AUDIT_FHIR_SCOPE (the first gateway), the optional scope is not in the token.
    expect(receiver.tokenScopes[0]!.split(' ')).not.toContain(AUDIT_CLIENT.scope);
  }, 60_000);

  it("a scope the client may not have (another client's optional scope): invalid_scope in the log, never the secret; records stay in the spool", async () => {
    const logs = new LogSink();
    const misconfigured = await gatewayWith({ AUDIT_FHIR_CLIENT_SECRET: AUDIT_CLIENT.secret, AUDIT_FHIR_SCOPE: 'patient/ImagingStudy.rs' }, logs);
    const received = receiver.resources.length;
    await read(misconfigured.url);
    const failure = await waitFor(() => logs.lines.find((line) => line['msg'] === AUDIT_FAILED), { what: 'the transport failure log line', timeoutMs: 15_000 });
    expect((failure['err'] as { message: string }).message).toMatch(/no access token for the FHIR audit server \(client audit-sender\): invalid_scope/);
    const startup = await startupLine(logs);
    expect(startup).toMatchObject({ level: 40, msg: expect.stringMatching(/^start-up check: no access token .*: invalid_scope.* may not ask for AUDIT_FHIR_SCOPE/) });
    expect(await metricValue(misconfigured.url, 'gateway_audit_spool_messages', 'transport="fhir"')).toBe(1);
    expect(receiver.resources.length).toBe(received);
    expect(JSON.stringify(logs.lines)).not.toContain(AUDIT_CLIENT.secret);
  }, 60_000);

  it('a wrong client secret keeps the records in the spool; the log says why, never with the secret', async () => {
    const logs = new LogSink();
    const wrongSecret = 'not-the-audit-sender-secret';
    const misconfigured = await gatewayWith({ AUDIT_FHIR_CLIENT_SECRET: wrongSecret }, logs);
    const received = receiver.resources.length;
    const refused = receiver.refusals.length;
    await read(misconfigured.url);
    await read(misconfigured.url);
    await waitFor(async () => (await metricValue(misconfigured.url, 'gateway_audit_spool_messages', 'transport="fhir"')) === 2, { what: 'two records waiting in the spool', timeoutMs: 15_000 });
    const failure = await waitFor(() => logs.lines.find((line) => line['msg'] === AUDIT_FAILED), { what: 'the transport failure log line', timeoutMs: 15_000 });
    expect((failure['err'] as { message: string }).message).toMatch(/no access token for the FHIR audit server \(client audit-sender\): (invalid_client|unauthorized_client)/);
    // The start-up check said so first, as a warning naming the cause; the gateway serves all the same.
    expect(await startupLine(logs)).toMatchObject({ level: 40, msg: expect.stringMatching(/^start-up check: no access token .*: (invalid_client|unauthorized_client).* — .*(AUDIT_FHIR_CLIENT_SECRET|secret is wrong)/) });
    await new Promise((resolve) => setTimeout(resolve, 1500)); // a few retries
    expect(await metricValue(misconfigured.url, 'gateway_audit_spool_messages', 'transport="fhir"')).toBe(2);
    // Nothing was POSTed without a token, and neither the secret nor a token is logged.
    expect(receiver.resources.length).toBe(received);
    expect(receiver.refusals.length).toBe(refused);
    expect(JSON.stringify(logs.lines)).not.toContain(wrongSecret);
    expect(logs.count(AUDIT_FAILED)).toBe(1);
  }, 60_000);

  it('an unreachable token endpoint: the gateway starts and serves, the start-up check names the cause, records wait', async () => {
    const logs = new LogSink();
    const unreachable = await gatewayWith({ AUDIT_FHIR_CLIENT_SECRET: AUDIT_CLIENT.secret, AUDIT_FHIR_TOKEN_URL: `http://127.0.0.1:${await freePort()}/token` }, logs);
    expect(await startupLine(logs)).toMatchObject({ level: 40, msg: expect.stringMatching(/^start-up check: no access token .*ECONNREFUSED.* gave no OAuth answer/) });
    await read(unreachable.url);
    await waitFor(async () => (await metricValue(unreachable.url, 'gateway_audit_spool_messages', 'transport="fhir"')) === 1, { what: 'the record waiting in the spool', timeoutMs: 15_000 });
    expect(JSON.stringify(logs.lines)).not.toContain(AUDIT_CLIENT.secret);
  }, 60_000);
});
