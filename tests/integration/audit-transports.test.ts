import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { dicomSchemaErrors, fhirIssues, xpathString } from '../support/audit-validators.js';
import { makeSeries, type GeneratedSeries } from '../support/dicom.js';
import { ACCEPT_DICOM_JSON } from '../support/dicomweb.js';
import { FhirReceiver, requestIdOfFhir, studyOfFhir } from '../support/fhir-receiver.js';
import { freePort } from '../support/free-port.js';
import { metricValue } from '../support/metrics.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startOrthanc, uploadInstances, type TestOrthanc } from '../support/orthanc.js';
import { waitFor } from '../support/process.js';
import { startRsyslog, xmlOf, type TestRsyslog } from '../support/rsyslog.js';
import { LogSink } from '../support/session-stack.js';
import { startTestIssuer, type TestIssuer } from '../support/test-issuer.js';
import { createTestPki, type TestPki } from '../support/tls.js';

/**
 * The audit transports against real peers: Debian's rsyslogd receiving RFC 5425 syslog over TLS
 * (test CA, client certificate required) and a FHIR-shaped receiver (an HTTP server taking
 * AuditEvent resources; over https with a client certificate required, for mutual TLS). Messages are checked with the DICOM audit schema and the FHIR R4 rules.
 * Faults: both receivers down for a while (messages wait in the spool and arrive afterwards, in
 * order, none lost), a slow receiver (requests are not held up), a full spool (new messages are
 * dropped, counted and alarmed; requests still answered).
 */

let orthanc: TestOrthanc;
let issuer: TestIssuer;
let pki: TestPki;
let rsyslog: TestRsyslog;
let fhir: FhirReceiver;
let gateway: TestGateway;
let token: string;
const logs = new LogSink();
const started: TestGateway[] = [];
const studies: GeneratedSeries[] = [];

const studyOfSyslog = (msg: string) => xpathString(xmlOf(msg), "/AuditMessage/ParticipantObjectIdentification[@ParticipantObjectTypeCodeRole='3']/@ParticipantObjectID");

async function read(study: GeneratedSeries, base = gateway.url): Promise<{ status: number; requestId: string; ms: number }> {
  const startedAt = Date.now();
  const response = await fetch(`${base}/pacs/dicom-web/studies/${study.studyInstanceUid}/metadata`, { headers: { authorization: `Bearer ${token}`, accept: ACCEPT_DICOM_JSON } });
  await response.arrayBuffer();
  return { status: response.status, requestId: response.headers.get('x-request-id') ?? '', ms: Date.now() - startedAt };
}

const metric = (name: string, labels: string, base = gateway.url) => metricValue(base, name, labels);

beforeAll(async () => {
  pki = await createTestPki();
  const ca = await pki.newCa('audit');
  const [server, client] = await Promise.all([ca.issueServer('rsyslog'), ca.issueClient('gateway')]);
  [orthanc, issuer, rsyslog] = await Promise.all([startOrthanc(), startTestIssuer(), startRsyslog({ ca, server })]);
  fhir = new FhirReceiver(await freePort());
  await fhir.start();
  for (let index = 0; index < 6; index++) {
    const series = makeSeries({ modality: 'CT', patientName: `Spool^Patient${index}`, patientId: `P-SPOOL-${index}`, instances: 1, rows: 8, columns: 8 });
    studies.push(series);
    await uploadInstances(orthanc, series.files);
  }
  gateway = await startTestGateway(
    {
      OIDC_ISSUER: issuer.issuer, ORTHANC_URL: orthanc.url, ORTHANC_USERNAME: orthanc.username, ORTHANC_PASSWORD: orthanc.password, LOG_LEVEL: 'info',
      AUDIT_SOURCE_ID: 'gw-transport-test', AUDIT_ENTERPRISE_SITE_ID: 'Test Hospital',
      AUDIT_SYSLOG_URL: `tls://127.0.0.1:${rsyslog.port}`, AUDIT_SYSLOG_CA_FILE: ca.certFile, AUDIT_SYSLOG_CERT_FILE: client.certFile, AUDIT_SYSLOG_KEY_FILE: client.keyFile,
      AUDIT_FHIR_URL: `http://127.0.0.1:${fhir.port}/fhir`,
      AUDIT_SPOOL_DIR: mkdtempSync(join(tmpdir(), 'audit-spool-')), AUDIT_SPOOL_ALARM_MESSAGES: '3', AUDIT_TRANSPORT_TIMEOUT_SECONDS: '5',
    },
    { logDestination: logs },
  );
  token = await issuer.token('viewer', ['pacs-viewer']);
}, 120_000);

afterAll(async () => {
  await Promise.allSettled([gateway, ...started].filter(Boolean).map((running) => running.close(1000)));
  await Promise.allSettled([orthanc?.stop(), issuer?.stop(), rsyslog?.close(), fhir?.stop()]);
  await pki?.remove();
});

describe('audit transports with real peers', () => {
  it('a study read reaches rsyslog over TLS as a valid DICOM audit message and the FHIR endpoint as a valid AuditEvent', async () => {
    const { status, requestId } = await read(studies[0]!);
    expect(status).toBe(200);
    const syslog = await waitFor(() => rsyslog.received().find((message) => studyOfSyslog(message.msg) === studies[0]!.studyInstanceUid), { what: 'the syslog message', timeoutMs: 10_000 });
    expect(syslog).toMatchObject({ pri: 85, appName: 'orthanc-oidc-gateway', msgId: 'IHE+RFC-3881' });
    const xml = xmlOf(syslog.msg);
    expect(dicomSchemaErrors(xml)).toBeUndefined();
    expect(xpathString(xml, '/AuditMessage/EventIdentification/EventID/@csd-code')).toBe('110103');
    expect(xpathString(xml, '/AuditMessage/ActiveParticipant[@UserIsRequestor="true"]/@UserName')).toBe('viewer');
    expect(xpathString(xml, "/AuditMessage/ParticipantObjectIdentification[@ParticipantObjectTypeCodeRole='1']/@ParticipantObjectID")).toBe('P-SPOOL-0');
    expect(xpathString(xml, "/AuditMessage/ParticipantObjectIdentification[@ParticipantObjectTypeCodeRole='1']/ParticipantObjectName")).toBe('Spool^Patient0');
    expect(xpathString(xml, '/AuditMessage/AuditSourceIdentification/@AuditEnterpriseSiteID')).toBe('Test Hospital');

    const resource = await waitFor(() => fhir.resources.find((candidate) => requestIdOfFhir(candidate) === requestId), { what: 'the FHIR AuditEvent', timeoutMs: 10_000 });
    expect(fhirIssues(resource)).toEqual([]);
    expect(fhir.contentTypes[0]).toBe('application/fhir+json');
    expect(resource).toMatchObject({ type: { code: '110103' }, outcome: '0', agent: [
      expect.objectContaining({ requestor: true, who: expect.objectContaining({ display: 'viewer' }) }),
      // the app the token was issued to (azp)
      expect.objectContaining({ requestor: false, type: { coding: [expect.objectContaining({ code: '110150' })] }, who: expect.objectContaining({ identifier: { value: 'ohif-viewer' } }) }),
      expect.objectContaining({ requestor: false, who: expect.objectContaining({ identifier: expect.objectContaining({ system: 'urn:ietf:rfc:3986' }) }) }),
    ] });
    expect(xpathString(xml, "/AuditMessage/ActiveParticipant[RoleIDCode/@csd-code='110150']/@UserID")).toBe('ohif-viewer');
    expect(resource.entity).toContainEqual(expect.objectContaining({ what: { identifier: { value: 'P-SPOOL-0' }, display: 'Spool^Patient0' } }));
  });

  it('survives both receivers being down: messages wait in the spool (metrics, alarm) and arrive afterwards, in order, none lost', async () => {
    await Promise.all([rsyslog.stop(), fhir.stop()]);
    const fhirBefore = fhir.resources.length;
    const syslogBefore = rsyslog.received().length;
    const order = studies.slice(1, 5);
    for (const study of order) expect((await read(study)).status).toBe(200);

    await waitFor(async () => (await metric('gateway_audit_spool_messages', 'transport="fhir"')) >= order.length, { what: 'the FHIR spool to fill', timeoutMs: 10_000 });
    expect(await metric('gateway_audit_spool_messages', 'transport="syslog"')).toBeGreaterThanOrEqual(order.length - 1);
    expect(await metric('gateway_audit_spool_oldest_age_seconds', 'transport="fhir"')).toBeGreaterThan(0);
    expect(logs.lines.filter((line) => line['msg'] === 'audit spool growing: the transport is not keeping up or is down').map((line) => line['auditTransport']).sort()).toEqual(['fhir', 'syslog']);

    await Promise.all([rsyslog.start(), fhir.start()]);
    const fhirStudies = await waitFor(() => {
      const arrived = fhir.resources.slice(fhirBefore).map(studyOfFhir);
      return arrived.length >= order.length && arrived;
    }, { what: 'the spooled FHIR AuditEvents', timeoutMs: 30_000 });
    expect(fhirStudies).toEqual(order.map((study) => study.studyInstanceUid));
    const syslogStudies = await waitFor(() => {
      const arrived = rsyslog.received().slice(syslogBefore).map((message) => studyOfSyslog(message.msg));
      return arrived.length >= order.length && arrived;
    }, { what: 'the spooled syslog messages', timeoutMs: 30_000 });
    expect(syslogStudies).toEqual(order.map((study) => study.studyInstanceUid));
    await waitFor(async () => (await metric('gateway_audit_spool_messages', 'transport="fhir"')) === 0, { what: 'the FHIR spool to drain', timeoutMs: 10_000 });
    expect(logs.lines.filter((line) => line['msg'] === 'audit spool drained').length).toBeGreaterThanOrEqual(2);
  }, 90_000);

  it('a slow receiver does not slow requests down', async () => {
    fhir.delayMs = 1500;
    const before = fhir.resources.length;
    try {
      const answers = [];
      for (let index = 0; index < 3; index++) answers.push(await read(studies[5]!));
      expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200]);
      // Three deliveries take at least 4.5 s; the three requests were answered long before.
      expect(answers.reduce((sum, answer) => sum + answer.ms, 0)).toBeLessThan(3000);
      expect(fhir.resources.length - before).toBeLessThan(3);
      await waitFor(() => fhir.resources.length - before === 3, { what: 'the slow deliveries', timeoutMs: 20_000 });
      expect(fhir.resources.slice(before).map(requestIdOfFhir)).toEqual(answers.map((answer) => answer.requestId));
    } finally {
      fhir.delayMs = 0;
    }
  }, 40_000);

  it.each<['tcp' | 'udp']>([['tcp'], ['udp']])('plain %s syslog (labs) delivers valid DICOM audit messages too', async (protocol) => {
    const receiver = await startRsyslog({ udp: protocol === 'udp' });
    try {
      const lab = await startTestGateway(
        {
          OIDC_ISSUER: issuer.issuer, ORTHANC_URL: orthanc.url, ORTHANC_USERNAME: orthanc.username, ORTHANC_PASSWORD: orthanc.password, LOG_LEVEL: 'info',
          AUDIT_SYSLOG_URL: `${protocol}://127.0.0.1:${receiver.port}`, AUDIT_SPOOL_DIR: mkdtempSync(join(tmpdir(), `audit-spool-${protocol}-`)),
        },
        { logDestination: new LogSink() },
      );
      started.push(lab);
      expect((await read(studies[2]!, lab.url)).status).toBe(200);
      const message = await waitFor(() => receiver.received().find((candidate) => studyOfSyslog(candidate.msg) === studies[2]!.studyInstanceUid), { what: `the ${protocol} syslog message`, timeoutMs: 10_000 });
      expect(message).toMatchObject({ pri: 85, appName: 'orthanc-oidc-gateway', msgId: 'IHE+RFC-3881' });
      expect(dicomSchemaErrors(xmlOf(message.msg))).toBeUndefined();
    } finally {
      await receiver.close();
    }
  });

  it('FHIR over mutual TLS: the gateway presents its client certificate (AUDIT_FHIR_CERT_FILE) and trusts AUDIT_FHIR_CA_FILE; without it nothing gets through', async () => {
    const ca = await pki.newCa('fhir');
    const [server, client] = await Promise.all([ca.issueServer('fhir-server'), ca.issueClient('fhir-client', 'orthanc-oidc-gateway')]);
    const secured = new FhirReceiver(await freePort(), { ...server, clientCaFile: ca.certFile });
    await secured.start();
    const gatewayFor = async (files: Record<string, string>) => {
      const running = await startTestGateway(
        {
          OIDC_ISSUER: issuer.issuer, ORTHANC_URL: orthanc.url, ORTHANC_USERNAME: orthanc.username, ORTHANC_PASSWORD: orthanc.password, LOG_LEVEL: 'info',
          AUDIT_FHIR_URL: `https://127.0.0.1:${secured.port}/fhir`, AUDIT_FHIR_CA_FILE: ca.certFile, ...files,
          AUDIT_SPOOL_DIR: mkdtempSync(join(tmpdir(), 'audit-spool-mtls-')), AUDIT_TRANSPORT_TIMEOUT_SECONDS: '2',
        },
        { logDestination: new LogSink() },
      );
      started.push(running);
      return running;
    };
    try {
      const anonymous = await gatewayFor({});
      expect((await read(studies[3]!, anonymous.url)).status).toBe(200);
      await waitFor(async () => (await metric('gateway_audit_spool_messages', 'transport="fhir"', anonymous.url)) >= 1, { what: 'the refused message to wait in the spool', timeoutMs: 10_000 });
      await new Promise((resolve) => setTimeout(resolve, 2500)); // a retry or two
      expect(secured.resources).toHaveLength(0);
      await anonymous.close(1000);

      const authenticated = await gatewayFor({ AUDIT_FHIR_CERT_FILE: client.certFile, AUDIT_FHIR_KEY_FILE: client.keyFile });
      const { status, requestId } = await read(studies[4]!, authenticated.url);
      expect(status).toBe(200);
      const resource = await waitFor(() => secured.resources.find((candidate) => requestIdOfFhir(candidate) === requestId), { what: 'the AuditEvent over mutual TLS', timeoutMs: 10_000 });
      expect(fhirIssues(resource)).toEqual([]);
      expect(new Set(secured.clientNames)).toEqual(new Set(['orthanc-oidc-gateway']));
    } finally {
      await secured.stop();
    }
  }, 60_000);

  it('a full spool drops new messages, counts and alarms them, and requests are still answered', async () => {
    const sink = new LogSink();
    const full = await startTestGateway(
      {
        OIDC_ISSUER: issuer.issuer, ORTHANC_URL: orthanc.url, ORTHANC_USERNAME: orthanc.username, ORTHANC_PASSWORD: orthanc.password, LOG_LEVEL: 'info',
        AUDIT_FHIR_URL: `http://127.0.0.1:${await freePort()}/fhir`, // nobody listens
        AUDIT_SPOOL_DIR: mkdtempSync(join(tmpdir(), 'audit-spool-full-')), AUDIT_SPOOL_MAX_BYTES: '4000',
      },
      { logDestination: sink },
    );
    started.push(full);
    for (let index = 0; index < 6; index++) expect((await read(studies[index]!, full.url)).status).toBe(200);
    await waitFor(async () => (await metric('gateway_audit_messages_dropped_total', 'transport="fhir",reason="spool_full"', full.url)) > 0, { what: 'dropped messages', timeoutMs: 10_000 });
    const queued = await metric('gateway_audit_spool_messages', 'transport="fhir"', full.url);
    const dropped = await metric('gateway_audit_messages_dropped_total', 'transport="fhir",reason="spool_full"', full.url);
    expect(queued).toBeGreaterThan(0);
    expect(queued + dropped).toBe(6);
    expect(await metric('gateway_audit_spool_bytes', 'transport="fhir"', full.url)).toBeLessThanOrEqual(4000);
    expect(sink.lines.filter((line) => line['msg'] === 'audit spool full: new messages for this transport are dropped until it drains')).toHaveLength(1);
  });
});
