/**
 * Issue 19's "done when", in real Chromium: a study opened in OHIF through the gateway (session
 * mode, dev IdP, Orthanc, Redis) while the audit receivers are down shows up afterwards, with
 * patient and user, in rsyslogd (TLS, client certificate) as a valid DICOM audit message and at the
 * FHIR endpoint as a valid AuditEvent; `npm run audit -- who-saw` lists it from the chained file.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser } from 'playwright-core';
import { dicomSchemaErrors, fhirIssues, xpathString } from '../support/audit-validators.js';
import { launchChromium, newPage, Screenshots } from '../support/chromium.js';
import { makeSeries, type GeneratedSeries } from '../support/dicom.js';
import { FhirReceiver, studyOfFhir } from '../support/fhir-receiver.js';
import { freePort } from '../support/free-port.js';
import { fetchOhifDist, studyRow, submitIdpLogin, waitForRenderedViewport } from '../support/ohif.js';
import { uploadInstances } from '../support/orthanc.js';
import { waitFor } from '../support/process.js';
import { startRsyslog, xmlOf, type TestRsyslog } from '../support/rsyslog.js';
import { DEV_PASSWORDS, startSessionStack, type SessionStack } from '../support/session-stack.js';
import { createTestPki, type TestPki } from '../support/tls.js';

const STEP_TIMEOUT = 60_000;
let stack: SessionStack;
let browser: Browser;
let pki: TestPki;
let rsyslog: TestRsyslog;
let fhir: FhirReceiver;
let auditFile: string;
let study: GeneratedSeries;

beforeAll(async () => {
  pki = await createTestPki();
  const ca = await pki.newCa('audit-e2e');
  const [server, client] = await Promise.all([ca.issueServer('rsyslog'), ca.issueClient('gateway')]);
  const [ohifDist, chromium, syslog] = await Promise.all([fetchOhifDist(), launchChromium(), startRsyslog({ ca, server })]);
  browser = chromium;
  rsyslog = syslog;
  fhir = new FhirReceiver(await freePort());
  auditFile = join(mkdtempSync(join(tmpdir(), 'audit-e2e-')), 'audit.log');
  stack = await startSessionStack({
    env: {
      OHIF_DIST: ohifDist, VIEWER_ACCESS: 'session', AUDIT_LOG_FILE: auditFile,
      AUDIT_SYSLOG_URL: `tls://127.0.0.1:${rsyslog.port}`, AUDIT_SYSLOG_CA_FILE: ca.certFile, AUDIT_SYSLOG_CERT_FILE: client.certFile, AUDIT_SYSLOG_KEY_FILE: client.keyFile,
      AUDIT_FHIR_URL: `http://127.0.0.1:${fhir.port}/fhir`, AUDIT_SPOOL_DIR: mkdtempSync(join(tmpdir(), 'audit-e2e-spool-')),
    },
  });
  study = makeSeries({ modality: 'CT', patientName: 'Audit^Ohif', patientId: 'E2E-AUDIT', instances: 4, rows: 64, columns: 64, studyDescription: 'CT audit phantom' });
  await uploadInstances(stack.orthanc, study.files);
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  await Promise.allSettled([rsyslog?.close(), fhir?.stop()]);
  await pki?.remove();
});

describe('audit of a study opened in OHIF', () => {
  it('reaches syslog and FHIR after the receivers come back, and who-saw lists it', async () => {
    // The receivers are down while the study is viewed (the FHIR one was never started).
    await rsyslog.stop();
    const shots = new Screenshots('audit viewer');
    const { page } = await newPage(browser);
    await shots.run([page], async () => {
      await page.goto(`${stack.publicUrl}/`);
      await page.waitForURL((url) => url.href.startsWith(`${stack.idp.issuer}/interaction/`), { timeout: STEP_TIMEOUT });
      await submitIdpLogin(page, 'viewer', DEV_PASSWORDS['viewer'] ?? '');
      await page.waitForURL((url) => url.origin === stack.publicUrl && url.pathname === '/', { timeout: STEP_TIMEOUT });
      await studyRow(page, 'Audit, Ohif').waitFor({ timeout: STEP_TIMEOUT });
      await studyRow(page, 'Audit, Ohif').click();
      await page.getByRole('button', { name: 'Basic Viewer' }).click();
      expect((await waitForRenderedViewport(page)).distinct).toBeGreaterThanOrEqual(4);
      await shots.shot(page, 'study rendered');
    });

    await Promise.all([rsyslog.start(), fhir.start()]);
    const isOurs = (xml: string) => xpathString(xml, "/AuditMessage/ParticipantObjectIdentification[@ParticipantObjectTypeCodeRole='3']/@ParticipantObjectID") === study.studyInstanceUid;
    const retrieval = await waitFor(() => rsyslog.received().map((message) => xmlOf(message.msg)).find((xml) => isOurs(xml) && xml.includes('csd-code="110103"')), {
      what: 'the DICOM Instances Accessed message at rsyslog',
      timeoutMs: 60_000,
    });
    expect(dicomSchemaErrors(retrieval)).toBeUndefined();
    expect(xpathString(retrieval, '/AuditMessage/ActiveParticipant[@UserIsRequestor="true"]/@UserName')).toBe('viewer');
    expect(xpathString(retrieval, "/AuditMessage/ParticipantObjectIdentification[@ParticipantObjectTypeCodeRole='1']/@ParticipantObjectID")).toBe('E2E-AUDIT');
    expect(rsyslog.received().some((message) => xmlOf(message.msg).includes('csd-code="110122"'))).toBe(true); // the sign-in

    const resource = await waitFor(() => fhir.resources.find((candidate) => studyOfFhir(candidate) === study.studyInstanceUid && candidate.subtype?.[0]?.code === 'read'), {
      what: 'the FHIR AuditEvent of the study read',
      timeoutMs: 60_000,
    });
    expect(fhirIssues(resource)).toEqual([]);
    expect(resource.entity).toContainEqual(expect.objectContaining({ what: { identifier: { value: 'E2E-AUDIT' }, display: 'Audit^Ohif' } }));
    expect(resource.agent?.[0]).toMatchObject({ requestor: true, who: expect.objectContaining({ display: 'viewer' }) });

    const who = spawnSync(process.execPath, ['scripts/audit.mjs', 'who-saw', '--file', auditFile, '--study', study.studyInstanceUid, '--csv'], { encoding: 'utf8' });
    const rows = who.stdout.trim().split('\r\n').slice(1);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((row) => row.includes(',viewer,') && row.includes('E2E-AUDIT (Audit^Ohif)'))).toBe(true);
  }, 240_000);
});
