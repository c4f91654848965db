import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ConfigError } from '../../src/config/load.js';
import { makeSeries, type GeneratedSeries } from '../support/dicom.js';
import { tagValues } from '../support/dicomweb.js';
import { freePort } from '../support/free-port.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { logLines, spawnGateway, type GatewayProcess } from '../support/gateway-process.js';
import { startNginx, type TestNginx } from '../support/nginx.js';
import { startOrthanc, uploadInstances, type TestOrthanc } from '../support/orthanc.js';
import { startTestIssuer, type TestIssuer } from '../support/test-issuer.js';
import { createTestPki, httpsGet, type CertFiles, type TestCa, type TestPki } from '../support/tls.js';

/**
 * TLS on both sides of the gateway, with certificates made in the test (tests/support/tls.ts):
 *  - the gateway serving HTTPS itself (TLS_CERT_FILE / TLS_KEY_FILE), HSTS, unusable files refused;
 *  - Orthanc behind Debian's nginx terminating TLS (Debian's Orthanc crashes on HTTPS here), plain
 *    and with `ssl_verify_client on` (mutual TLS): ORTHANC_CA_FILE, ORTHANC_CLIENT_CERT_FILE /
 *    ORTHANC_CLIENT_KEY_FILE, and clear 502s + /readyz when a piece is missing.
 */
let pki: TestPki;
let ca: TestCa;
let otherCa: TestCa;
let serverCert: CertFiles;
let gatewayClient: CertFiles;
let strangerClient: CertFiles;
let strayKey: string;
let orthanc: TestOrthanc;
let issuer: TestIssuer;
let nginx: TestNginx;
let nginxMutual: TestNginx;
let series: GeneratedSeries;
let token: string;
const gateways: TestGateway[] = [];
const processes: GatewayProcess[] = [];

beforeAll(async () => {
  pki = await createTestPki();
  [ca, otherCa] = await Promise.all([pki.newCa('main'), pki.newCa('other')]);
  [serverCert, gatewayClient, strangerClient, strayKey] = await Promise.all([
    ca.issueServer('server', ['DNS:localhost']),
    ca.issueClient('gateway-client', 'orthanc-oidc-gateway'),
    otherCa.issueClient('stranger-client', 'orthanc-oidc-gateway'),
    pki.strayKey('stray'),
  ]);
  [orthanc, issuer] = await Promise.all([startOrthanc(), startTestIssuer()]);
  series = makeSeries({ modality: 'CT', patientName: 'Tls^Test', patientId: 'TLS-1', instances: 1, rows: 8, columns: 8 });
  await uploadInstances(orthanc, series.files);
  [nginx, nginxMutual] = await Promise.all([
    startNginx({ upstream: orthanc.url, ...serverCert }),
    startNginx({ upstream: orthanc.url, ...serverCert, clientCaFile: ca.certFile }),
  ]);
  token = await issuer.token('viewer', ['pacs-viewer']);
}, 60_000);

afterAll(async () => {
  await Promise.all(processes.map((gateway) => gateway.stop()));
  await Promise.all(gateways.map((gateway) => gateway.close(1000)));
  await Promise.all([nginx?.stop(), nginxMutual?.stop()]);
  await Promise.all([orthanc?.stop(), issuer?.stop()]);
  await pki?.remove();
}, 30_000);

/** What every gateway of this file is started with, besides ORTHANC_URL and the TLS settings. */
const baseEnv = () => ({ OIDC_ISSUER: issuer.issuer, ORTHANC_USERNAME: orthanc.username, ORTHANC_PASSWORD: orthanc.password });

/** Orthanc behind the mutual-TLS nginx, trusted through the test CA; `client`: the certificate the gateway presents. */
const mutualTlsEnv = (client?: CertFiles) => ({
  ORTHANC_URL: nginxMutual.url,
  ORTHANC_CA_FILE: ca.certFile,
  ...(client && { ORTHANC_CLIENT_CERT_FILE: client.certFile, ORTHANC_CLIENT_KEY_FILE: client.keyFile }),
});

/** An in-process gateway whose warn+ log lines are collected. */
async function gateway(env: Record<string, string>) {
  const lines: Array<Record<string, unknown>> = [];
  const started = await startTestGateway(
    { ...baseEnv(), LOG_LEVEL: 'warn', ...env },
    { logDestination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } },
  );
  gateways.push(started);
  return { gateway: started, logs: () => lines };
}

/** The gateway in its own process (tests/support/gateway-process.ts), stopped after the file. */
async function gatewayProcess(env: Record<string, string>) {
  const child = await spawnGateway({ ...baseEnv(), ...env });
  processes.push(child);
  return child;
}

const qido = (base: string) => fetch(`${base}/pacs/dicom-web/studies`, { headers: { authorization: `Bearer ${token}`, accept: 'application/dicom+json' } });

describe('the gateway serves HTTPS (TLS_CERT_FILE / TLS_KEY_FILE)', () => {
  let https: TestGateway;
  let base: string;

  beforeAll(async () => {
    const port = await freePort();
    base = `https://localhost:${port}`;
    ({ gateway: https } = await gateway({
      PORT: String(port),
      PUBLIC_URL: base,
      TLS_CERT_FILE: serverCert.certFile,
      TLS_KEY_FILE: serverCert.keyFile,
      ORTHANC_URL: orthanc.url,
    }));
  });

  it('answers over HTTPS with a certificate the client verifies against the test CA, with HSTS', async () => {
    expect(https.url).toMatch(/^https:/);
    const answer = await httpsGet(`${base}/healthz`, { ca: ca.pem });
    expect(answer.status).toBe(200);
    expect(answer.headers['strict-transport-security']).toMatch(/max-age=31536000/);
  });

  it('is refused by a client that does not trust the CA (a real verification, not a plain socket)', async () => {
    await expect(httpsGet(`${base}/healthz`, { ca: otherCa.pem })).rejects.toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
  });

  it('proxies DICOMweb over HTTPS and writes https:// public URLs', async () => {
    const answer = await httpsGet(`${base}/pacs/dicom-web/studies`, { ca: ca.pem, headers: { authorization: `Bearer ${token}` } });
    expect(answer.status).toBe(200);
    const studies = JSON.parse(answer.body) as unknown[];
    expect(tagValues(studies, '0020000D')).toContain(series.studyInstanceUid);
    expect(String(tagValues(studies, '00081190')[0])).toMatch(new RegExp(`^${base}/pacs/dicom-web/studies/`));
  });

  it('sends no HSTS header when PUBLIC_URL is http://', async () => {
    const { gateway: plain } = await gateway({ ORTHANC_URL: orthanc.url });
    const response = await fetch(`${plain.url}/healthz`);
    expect(response.status).toBe(200);
    expect(response.headers.get('strict-transport-security')).toBeNull();
  });
});

describe('unusable TLS files stop the start, naming the variable', () => {
  const missing = '/nonexistent/gateway-tls/cert.pem';
  const cases: Array<{ name: string; env: () => Record<string, string>; problem: RegExp }> = [
    { name: 'missing TLS_CERT_FILE', env: () => ({ TLS_CERT_FILE: missing, TLS_KEY_FILE: serverCert.keyFile }), problem: /^TLS_CERT_FILE: cannot read .*\(no such file\)/ },
    { name: 'TLS_CERT_FILE holding a key', env: () => ({ TLS_CERT_FILE: serverCert.keyFile, TLS_KEY_FILE: serverCert.keyFile }), problem: /^TLS_CERT_FILE: .* holds no PEM certificate/ },
    { name: 'TLS_KEY_FILE holding a certificate', env: () => ({ TLS_CERT_FILE: serverCert.certFile, TLS_KEY_FILE: serverCert.certFile }), problem: /^TLS_KEY_FILE: .* is not an unencrypted PEM private key/ },
    { name: 'TLS_KEY_FILE not matching the certificate', env: () => ({ TLS_CERT_FILE: serverCert.certFile, TLS_KEY_FILE: strayKey }), problem: /^TLS_KEY_FILE: the key in .* does not match the certificate in TLS_CERT_FILE/ },
    { name: 'missing ORTHANC_CA_FILE', env: () => ({ ORTHANC_URL: nginx.url, ORTHANC_CA_FILE: missing }), problem: /^ORTHANC_CA_FILE: cannot read/ },
    {
      name: 'ORTHANC_CLIENT_KEY_FILE not matching ORTHANC_CLIENT_CERT_FILE',
      env: () => ({ ORTHANC_URL: nginx.url, ORTHANC_CLIENT_CERT_FILE: gatewayClient.certFile, ORTHANC_CLIENT_KEY_FILE: strangerClient.keyFile }),
      problem: /^ORTHANC_CLIENT_KEY_FILE: the key in .* does not match the certificate in ORTHANC_CLIENT_CERT_FILE/,
    },
    { name: 'missing AUDIT_SYSLOG_CA_FILE', env: () => syslogEnv({ AUDIT_SYSLOG_CA_FILE: missing }), problem: /^AUDIT_SYSLOG_CA_FILE: cannot read .*\(no such file\)/ },
    { name: 'AUDIT_SYSLOG_CA_FILE holding a key', env: () => syslogEnv({ AUDIT_SYSLOG_CA_FILE: ca.keyFile }), problem: /^AUDIT_SYSLOG_CA_FILE: .* holds no PEM certificate/ },
    {
      name: 'AUDIT_SYSLOG_KEY_FILE not matching AUDIT_SYSLOG_CERT_FILE',
      env: () => syslogEnv({ AUDIT_SYSLOG_CERT_FILE: gatewayClient.certFile, AUDIT_SYSLOG_KEY_FILE: strangerClient.keyFile }),
      problem: /^AUDIT_SYSLOG_KEY_FILE: the key in .* does not match the certificate in AUDIT_SYSLOG_CERT_FILE/,
    },
    {
      name: 'AUDIT_SYSLOG_KEY_FILE holding a certificate',
      env: () => syslogEnv({ AUDIT_SYSLOG_CERT_FILE: gatewayClient.certFile, AUDIT_SYSLOG_KEY_FILE: gatewayClient.certFile }),
      problem: /^AUDIT_SYSLOG_KEY_FILE: .* is not an unencrypted PEM private key/,
    },
    {
      name: 'AUDIT_FHIR_KEY_FILE not matching AUDIT_FHIR_CERT_FILE',
      env: () => ({ AUDIT_FHIR_URL: `https://127.0.0.1:${syslogPort}/fhir`, AUDIT_SPOOL_DIR: mkdtempSync(join(tmpdir(), 'audit-spool-tls-')), AUDIT_FHIR_CERT_FILE: gatewayClient.certFile, AUDIT_FHIR_KEY_FILE: strayKey }),
      problem: /^AUDIT_FHIR_KEY_FILE: the key in .* does not match the certificate in AUDIT_FHIR_CERT_FILE/,
    },
    { name: 'missing AUDIT_FHIR_CA_FILE', env: () => ({ AUDIT_FHIR_URL: `https://127.0.0.1:${syslogPort}/fhir`, AUDIT_SPOOL_DIR: mkdtempSync(join(tmpdir(), 'audit-spool-tls-')), AUDIT_FHIR_CA_FILE: missing }), problem: /^AUDIT_FHIR_CA_FILE: cannot read/ },
  ];
  /** Audit messages by syslog over TLS (or FHIR over https) to a port nobody listens on: the start must stop before any connection. */
  let syslogPort: number;
  beforeAll(async () => {
    syslogPort = await freePort();
  });
  const syslogEnv = (files: Record<string, string>) => ({
    AUDIT_SYSLOG_URL: `tls://127.0.0.1:${syslogPort}`,
    AUDIT_SPOOL_DIR: mkdtempSync(join(tmpdir(), 'audit-spool-tls-')),
    ...files,
  });

  it.each(cases)('$name', async ({ env, problem }) => {
    const error = await gateway({ ORTHANC_URL: orthanc.url, ...env() }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([expect.stringMatching(problem)]);
    // The message names files, never their content.
    const material = [serverCert, gatewayClient, strangerClient].flatMap((files) => [files.certFile, files.keyFile]).concat(strayKey);
    for (const file of material) {
      for (const line of readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'))) {
        expect((error as ConfigError).message).not.toContain(line);
      }
    }
  });

  it('reports every unusable file at once', async () => {
    const error = (await gateway({
      ORTHANC_URL: nginx.url,
      TLS_CERT_FILE: missing,
      TLS_KEY_FILE: strayKey,
      ORTHANC_CA_FILE: missing,
    }).catch((caught: unknown) => caught)) as ConfigError;
    expect(error.problems.map((problem) => problem.split(':')[0])).toEqual(['TLS_CERT_FILE', 'ORTHANC_CA_FILE']);
  });

  it('the gateway process exits 1 with the variable in its message', async () => {
    const child = await gatewayProcess({ ORTHANC_URL: orthanc.url, TLS_CERT_FILE: serverCert.certFile, TLS_KEY_FILE: strayKey });
    expect(await child.exitCode()).toBe(1);
    expect(child.output()).toMatch(/Invalid configuration:\s+- TLS_KEY_FILE: the key in \S+ does not match the certificate in TLS_CERT_FILE/);
    expect(child.output()).not.toMatch(/"msg":"gateway listening"/);
  });
});

describe('Orthanc over HTTPS behind nginx (ORTHANC_CA_FILE)', () => {
  it('proxies QIDO when the CA is configured, and /readyz is ready', async () => {
    const { gateway: g } = await gateway({ ORTHANC_URL: nginx.url, ORTHANC_CA_FILE: ca.certFile });
    const response = await qido(g.url);
    expect(response.status).toBe(200);
    const studies = (await response.json()) as unknown[];
    expect(tagValues(studies, '0020000D')).toContain(series.studyInstanceUid);
    // nginx passes the gateway's Forwarded header on: Orthanc still writes the gateway's public URLs.
    expect(String(tagValues(studies, '00081190')[0])).toMatch(new RegExp(`^${g.config.publicUrl}/pacs/dicom-web/studies/`));
    expect((await fetch(`${g.url}/readyz`)).status).toBe(200);
  });

  it.each([
    { name: 'without ORTHANC_CA_FILE (system trust store only)', env: () => ({}) },
    { name: 'with a CA that did not sign the certificate', env: () => ({ ORTHANC_CA_FILE: otherCa.certFile }) },
  ])('answers 502 JSON "not trusted" $name, logs the fix, /readyz says why, and keeps serving', async ({ env }) => {
    const { gateway: g, logs } = await gateway({ ORTHANC_URL: nginx.url, ...env() });
    const response = await qido(g.url);
    expect(response.status).toBe(502);
    expect(await response.json()).toMatchObject({ error: 'bad_gateway', message: expect.stringMatching(/TLS certificate is not trusted/) });
    expect(logs()).toContainEqual(expect.objectContaining({ hint: expect.stringMatching(/ORTHANC_CA_FILE/) }));

    const readiness = await fetch(`${g.url}/readyz`);
    expect(readiness.status).toBe(503);
    expect(await readiness.json()).toMatchObject({ checks: { orthanc: { ok: false, error: expect.stringMatching(/not trusted.*ORTHANC_CA_FILE/) } } });
    expect((await fetch(`${g.url}/healthz`)).status).toBe(200);
  });

  it('answers 502 when ORTHANC_URL names a host the certificate is not issued for', async () => {
    const { gateway: g } = await gateway({ ORTHANC_URL: nginx.url.replace('localhost', '127.0.0.1'), ORTHANC_CA_FILE: ca.certFile });
    const response = await qido(g.url);
    expect(response.status).toBe(502);
    expect(await response.json()).toMatchObject({ message: expect.stringMatching(/not issued for the host/) });
  });

  it('answers 502 naming the problem when ORTHANC_URL says http:// for the TLS port', async () => {
    const { gateway: g, logs } = await gateway({ ORTHANC_URL: nginx.url.replace('https:', 'http:') });
    const response = await qido(g.url);
    expect(response.status).toBe(502);
    expect(await response.json()).toMatchObject({ message: expect.stringMatching(/plain HTTP request was sent to HTTPS port/) });
    expect(logs()).toContainEqual(expect.objectContaining({ hint: expect.stringMatching(/ORTHANC_URL must start with https/) }));
  });
});

describe('mutual TLS: nginx with ssl_verify_client on', () => {
  it('proxies QIDO with ORTHANC_CLIENT_CERT_FILE / ORTHANC_CLIENT_KEY_FILE, and /readyz is ready', async () => {
    const { gateway: g } = await gateway(mutualTlsEnv(gatewayClient));
    const response = await qido(g.url);
    expect(response.status).toBe(200);
    expect(tagValues(await response.json(), '0020000D')).toContain(series.studyInstanceUid);
    expect((await fetch(`${g.url}/readyz`)).status).toBe(200);
  });

  it('without a client certificate: 502 JSON (not nginx\'s 400 page), a log line naming the variables, /readyz 503', async () => {
    const { gateway: g, logs } = await gateway(mutualTlsEnv());
    const response = await qido(g.url);
    expect(response.status).toBe(502);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    expect(await response.json()).toMatchObject({
      error: 'bad_gateway',
      message: expect.stringMatching(/TLS proxy in front of Orthanc refused .*No required SSL certificate was sent/),
      requestId: expect.any(String),
    });
    expect(logs()).toContainEqual(
      expect.objectContaining({ msg: expect.stringMatching(/No required SSL certificate/), hint: expect.stringMatching(/ORTHANC_CLIENT_CERT_FILE and ORTHANC_CLIENT_KEY_FILE/) }),
    );
    const readiness = await fetch(`${g.url}/readyz`);
    expect(readiness.status).toBe(503);
    expect(await readiness.json()).toMatchObject({ checks: { orthanc: { ok: false, error: expect.stringMatching(/ORTHANC_CLIENT_CERT_FILE/) } } });
  });

  it('with a client certificate from a CA nginx does not trust: 502 JSON', async () => {
    const { gateway: g } = await gateway(mutualTlsEnv(strangerClient));
    const response = await qido(g.url);
    expect(response.status).toBe(502);
    expect(await response.json()).toMatchObject({ message: expect.stringMatching(/SSL certificate error/) });
  });

  it("a TLS server refusing the handshake without a client certificate (Orthanc's own SslVerifyPeers): 502 JSON naming the refusal", async () => {
    // Orthanc's built-in HTTPS (civetweb) aborts the handshake instead of answering 400 like nginx;
    // a Node HTTPS server with requestCert + rejectUnauthorized does the same.
    const strict = createHttpsServer(
      { cert: readFileSync(serverCert.certFile), key: readFileSync(serverCert.keyFile), ca: ca.pem, requestCert: true, rejectUnauthorized: true },
      (_req, res) => res.end('[]'),
    );
    await new Promise<void>((resolve) => strict.listen(0, '127.0.0.1', resolve));
    try {
      const { gateway: g, logs } = await gateway({
        ORTHANC_URL: `https://localhost:${(strict.address() as AddressInfo).port}`,
        ORTHANC_CA_FILE: ca.certFile,
      });
      const response = await qido(g.url);
      expect(response.status).toBe(502);
      expect(await response.json()).toMatchObject({ error: 'bad_gateway', message: expect.stringMatching(/Orthanc refused the gateway's TLS connection/) });
      expect(logs()).toContainEqual(expect.objectContaining({ hint: expect.stringMatching(/ORTHANC_CLIENT_CERT_FILE/) }));
      const readiness = await fetch(`${g.url}/readyz`);
      expect(await readiness.json()).toMatchObject({ checks: { orthanc: { ok: false, error: expect.stringMatching(/ORTHANC_CLIENT_CERT_FILE/) } } });
    } finally {
      strict.closeAllConnections();
      await new Promise((resolve) => strict.close(resolve));
    }
  });

  it('the gateway process runs its start-up checks over mutual TLS and starts', async () => {
    const child = await gatewayProcess(mutualTlsEnv(gatewayClient));
    await child.listening();
    const checks = logLines(child.output()).filter((line) => line.msg.startsWith('start-up check'));
    expect(checks.map((line) => [line['check'], line.level])).toEqual(
      expect.arrayContaining([['orthanc', 30], ['orthanc-anonymous-access', 30], ['dicomweb', 30], ['identity-provider', 30]]),
    );
    expect((await fetch(`${child.url}/readyz`)).status).toBe(200);
  });

  it('the gateway process without its client certificate starts, warns naming the variables, and is not ready', async () => {
    const child = await gatewayProcess(mutualTlsEnv());
    await child.listening();
    const warning = logLines(child.output()).find((line) => line['check'] === 'orthanc');
    expect(warning).toMatchObject({ level: 40, msg: expect.stringMatching(/No required SSL certificate was sent.*ORTHANC_CLIENT_CERT_FILE/) });
    expect((await fetch(`${child.url}/readyz`)).status).toBe(503);
  });
});
