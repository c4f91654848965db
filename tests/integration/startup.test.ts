import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { tagValues } from '../support/dicomweb.js';
import { makeSeries } from '../support/dicom.js';
import { acceptsConnections, freePort } from '../support/free-port.js';
import { logLines, spawnGateway, type GatewayProcess } from '../support/gateway-process.js';
import { startOrthanc, uploadInstances, type TestOrthanc } from '../support/orthanc.js';
import { waitFor } from '../support/process.js';
import { startTestIssuer, type TestIssuer } from '../support/test-issuer.js';

/**
 * The gateway process (src/main.ts) at start and stop, against real Orthanc configurations:
 * the start-up doctor refuses what is dangerous or can never work (exit 1 with the reason), starts
 * in spite of neighbours that are merely late (/readyz says so), and SIGTERM drains in-flight
 * requests before exiting 0.
 */
let secure: TestOrthanc; // authentication on, DICOMweb: how it should be
let open: TestOrthanc; // AuthenticationEnabled false: seed 000's "Insecure setup"
let noDicomWeb: TestOrthanc; // no plugin at all
let issuer: TestIssuer;
const processes: GatewayProcess[] = [];

beforeAll(async () => {
  [secure, open, noDicomWeb, issuer] = await Promise.all([
    startOrthanc(),
    startOrthanc({ authenticationEnabled: false }),
    startOrthanc({ extraConfig: { Plugins: [] } }),
    startTestIssuer(),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all(processes.map((gateway) => gateway.stop()));
  await Promise.all([secure?.stop(), open?.stop(), noDicomWeb?.stop(), issuer?.stop()]);
}, 60_000);

async function gatewayFor(orthanc: TestOrthanc, env: Record<string, string> = {}) {
  const gateway = await spawnGateway({
    OIDC_ISSUER: issuer.issuer,
    ORTHANC_URL: orthanc.url,
    ORTHANC_USERNAME: orthanc.username,
    ORTHANC_PASSWORD: orthanc.password,
    ...env,
  });
  processes.push(gateway);
  return gateway;
}

/** Exit code 1, the reason on stderr as plain text, never "gateway listening". */
async function expectRefusal(gateway: GatewayProcess, reason: RegExp) {
  expect(await gateway.exitCode()).toBe(1);
  const output = gateway.output();
  expect(output).toMatch(/Start-up checks failed, not starting:/);
  expect(output).toMatch(reason);
  expect(output).not.toMatch(/"msg":"gateway listening"/);
  const fatal = logLines(output).filter((line) => line.level === 60);
  expect(fatal.length).toBeGreaterThan(0);
  return output;
}

describe('start-up doctor', () => {
  it('starts when Orthanc and the identity provider are as they should be, logging each check', async () => {
    const gateway = await gatewayFor(secure);
    await gateway.listening();
    const checks = logLines(gateway.output()).filter((line) => typeof line['check'] === 'string');
    expect(Object.fromEntries(checks.map((line) => [line['check'], line.level]))).toEqual({
      orthanc: 30,
      'orthanc-anonymous-access': 30,
      dicomweb: 30,
      'identity-provider': 30,
    });
    // The line says which address to open: PUBLIC_URL (other names of the host are redirected there).
    const listening = logLines(gateway.output()).find((line) => line.msg === 'gateway listening');
    expect(listening?.['publicUrl']).toBe(gateway.url);
    expect((await fetch(`${gateway.url}/readyz`)).status).toBe(200);
    await gateway.stop();
    expect(gateway.proc.hasExited()).toBe(true);
  });

  it('refuses to start when Orthanc answers without credentials (seed 000)', async () => {
    // The danger is real: this Orthanc hands out its data to anyone.
    expect((await fetch(`${open.url}/system`)).status).toBe(200);
    const output = await expectRefusal(await gatewayFor(open), /answers WITHOUT credentials/);
    expect(output).toMatch(/AuthenticationEnabled/);
    expect(output).toMatch(/ALLOW_UNAUTHENTICATED_ORTHANC=true/);
  });

  it('starts with a warning on such an Orthanc when ALLOW_UNAUTHENTICATED_ORTHANC=true', async () => {
    const gateway = await gatewayFor(open, { ALLOW_UNAUTHENTICATED_ORTHANC: 'true' });
    await gateway.listening();
    expect(logLines(gateway.output()).find((line) => line['check'] === 'orthanc-anonymous-access')).toMatchObject({
      level: 40,
      msg: expect.stringMatching(/starting anyway because ALLOW_UNAUTHENTICATED_ORTHANC=true/),
    });
    expect((await fetch(`${gateway.url}/readyz`)).status).toBe(200);
  });

  it('refuses to start when Orthanc rejects the service credential, naming the variables but not the password', async () => {
    const output = await expectRefusal(
      await gatewayFor(secure, { ORTHANC_PASSWORD: 'wrong-password-1234' }),
      /rejects the gateway's service credential .*ORTHANC_USERNAME \/ ORTHANC_PASSWORD/,
    );
    expect(output).not.toContain('wrong-password-1234');
    expect(output).not.toContain(secure.password);
  });

  it('refuses to start when a per-role credential is rejected, naming the role', async () => {
    await expectRefusal(
      await gatewayFor(secure, { ORTHANC_CREDENTIALS_BY_ROLE: JSON.stringify({ 'pacs-admin': 'nobody:nothing-here' }) }),
      /ORTHANC_CREDENTIALS_BY_ROLE gives role "pacs-admin"/,
    );
  });

  it('refuses to start when Orthanc has no DICOMweb plugin', async () => {
    expect((await fetch(`${noDicomWeb.url}/dicom-web/studies`, { headers: { authorization: `Basic ${Buffer.from(`${noDicomWeb.username}:${noDicomWeb.password}`).toString('base64')}` } })).status).toBe(404);
    await expectRefusal(await gatewayFor(noDicomWeb), /has no DICOMweb plugin loaded .*libOrthancDicomWeb\.so/);
  });

  it('refuses to start when discovery reports another issuer, naming OIDC_ISSUER and OIDC_DISCOVERY_URL', async () => {
    // The issuer answers as http://127.0.0.1:<port>/realms/orthanc; the gateway is told localhost.
    const claimed = issuer.issuer.replace('127.0.0.1', 'localhost');
    const output = await expectRefusal(
      await gatewayFor(secure, { OIDC_ISSUER: claimed, OIDC_DISCOVERY_URL: issuer.issuer }),
      /reports issuer "http:\/\/127\.0\.0\.1:\d+\/realms\/orthanc" but OIDC_ISSUER is "http:\/\/localhost:\d+\/realms\/orthanc"/,
    );
    expect(output).toMatch(/OIDC_ISSUER must be exactly the issuer .*OIDC_DISCOVERY_URL \(http:\/\/127\.0\.0\.1:\d+\/realms\/orthanc\)/);
  });

  it('starts although Orthanc and the identity provider are unreachable (they may be late): warns, /readyz 503', async () => {
    const [orthancPort, idpPort] = await Promise.all([freePort(), freePort()]);
    const gateway = await spawnGateway({
      OIDC_ISSUER: `http://127.0.0.1:${idpPort}/realms/orthanc`,
      ORTHANC_URL: `http://127.0.0.1:${orthancPort}`,
      ORTHANC_USERNAME: 'gateway',
      ORTHANC_PASSWORD: 'not-checked',
    });
    processes.push(gateway);
    await gateway.listening();
    const warnings = logLines(gateway.output()).filter((line) => line.level === 40 && typeof line['check'] === 'string');
    expect(warnings.map((line) => line['check']).sort()).toEqual(['identity-provider', 'orthanc']);
    expect(warnings.find((line) => line['check'] === 'orthanc')?.msg).toMatch(/not reachable \(Orthanc is unreachable \(ECONNREFUSED\)\); starting anyway/);

    const readiness = await fetch(`${gateway.url}/readyz`);
    expect(readiness.status).toBe(503);
    expect(await readiness.json()).toMatchObject({
      status: 'not_ready',
      checks: { orthanc: { ok: false }, identityProvider: { ok: false } },
    });
    expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200);
  });
});

/**
 * A slow link to Orthanc: a TCP forwarder that, while held, keeps what the gateway sends (and opens
 * no upstream connection, which Orthanc's 1 s keep-alive would close) until released.
 */
async function startSlowLink(targetPort: number) {
  let held = false;
  let seen = '';
  const waiting: Array<() => void> = [];
  const server = net.createServer((client) => {
    let upstream: net.Socket | undefined;
    const queued: Buffer[] = [];
    const connectUpstream = () => {
      upstream = net.connect(targetPort, '127.0.0.1');
      upstream.pipe(client);
      upstream.on('error', () => client.destroy());
      upstream.on('close', () => client.destroy());
      for (const chunk of queued.splice(0)) upstream.write(chunk);
    };
    const forward = () => (upstream ? queued.splice(0).forEach((chunk) => upstream!.write(chunk)) : connectUpstream());
    client.on('data', (chunk: Buffer) => {
      seen += chunk.toString('latin1');
      queued.push(chunk);
      if (held) waiting.push(forward);
      else forward();
    });
    client.on('error', () => upstream?.destroy());
    client.on('close', () => upstream?.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    seen: () => seen,
    hold: () => {
      held = true;
    },
    release: () => {
      held = false;
      for (const forward of waiting.splice(0)) forward();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
      }),
  };
}

describe('graceful shutdown on SIGTERM', () => {
  it('refuses new connections, completes the in-flight request, then exits 0', async () => {
    const link = await startSlowLink(secure.port);
    try {
      const series = makeSeries({ modality: 'MR', patientName: 'Drain^Test', patientId: 'DRAIN-1', instances: 1, rows: 8, columns: 8 });
      await uploadInstances(secure, series.files);
      const gateway = await gatewayFor(secure, { ORTHANC_URL: `http://127.0.0.1:${link.port}` });
      await gateway.listening();
      const token = await issuer.token('viewer', ['pacs-viewer']);
      // An idle keep-alive connection too: it must not keep the process alive.
      expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200);

      link.hold();
      const inFlight = fetch(`${gateway.url}/pacs/dicom-web/studies?PatientID=DRAIN-1`, { headers: { authorization: `Bearer ${token}` } });
      await waitFor(() => link.seen().includes('GET /dicom-web/studies?PatientID=DRAIN-1'), { what: 'the request to reach the link to Orthanc' });

      gateway.proc.child.kill('SIGTERM');
      await waitFor(async () => !(await acceptsConnections(gateway.port)), { what: 'the gateway to refuse new connections', timeoutMs: 5000 });
      expect(gateway.proc.hasExited()).toBe(false);
      await expect(fetch(`${gateway.url}/healthz`)).rejects.toThrow();

      link.release();
      const response = await inFlight;
      expect(response.status).toBe(200);
      expect(tagValues(await response.json(), '0020000D')).toEqual([series.studyInstanceUid]);

      const exitedAt = Date.now();
      expect(await gateway.exitCode(10_000)).toBe(0);
      expect(Date.now() - exitedAt).toBeLessThan(3000);
      const messages = logLines(gateway.output()).map((line) => line.msg);
      expect(messages).toEqual(expect.arrayContaining([expect.stringMatching(/^shutting down/), 'stopped']));
      expect(messages).not.toContainEqual(expect.stringMatching(/cutting requests/));
    } finally {
      link.release();
      await link.close();
    }
  });
});
