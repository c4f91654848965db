import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { freePort } from '../support/free-port.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startOrthanc, type TestOrthanc } from '../support/orthanc.js';
import { startTestIssuer, type TestIssuer } from '../support/test-issuer.js';

/** Orthanc down, stalled, or refusing the service credential: clear JSON errors, no crash, no Basic prompt. */
let orthanc: TestOrthanc;
let issuer: TestIssuer;
let token: string;
const started: TestGateway[] = [];

async function gatewayTo(env: Record<string, string>) {
  const gateway = await startTestGateway({
    OIDC_ISSUER: issuer.issuer,
    ORTHANC_URL: orthanc.url,
    ORTHANC_USERNAME: orthanc.username,
    ORTHANC_PASSWORD: orthanc.password,
    ...env,
  });
  started.push(gateway);
  return gateway;
}

const qido = (gateway: TestGateway) =>
  fetch(`${gateway.url}/pacs/dicom-web/studies`, { headers: { authorization: `Bearer ${token}` } });

beforeAll(async () => {
  [orthanc, issuer] = await Promise.all([startOrthanc(), startTestIssuer()]);
  token = await issuer.token('viewer', ['pacs-viewer']);
}, 60_000);

afterAll(async () => {
  process.kill(orthanc.pid, 'SIGCONT');
  await Promise.all(started.map((gateway) => gateway.close()));
  await Promise.all([orthanc?.stop(), issuer?.stop()]);
});

describe('upstream failures', () => {
  it('answers 502 JSON when nothing listens at ORTHANC_URL', async () => {
    const gateway = await gatewayTo({ ORTHANC_URL: `http://127.0.0.1:${await freePort()}` });
    const response = await qido(gateway);
    expect(response.status).toBe(502);
    expect(await response.json()).toMatchObject({ error: 'bad_gateway', requestId: expect.any(String) });
    expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200);
    const readiness = await fetch(`${gateway.url}/readyz`);
    expect(readiness.status).toBe(503);
    expect(await readiness.json()).toMatchObject({
      status: 'not_ready',
      checks: { orthanc: { ok: false, error: expect.any(String) }, identityProvider: { ok: true } },
    });
  });

  it('answers 502 JSON, never a Basic challenge, when Orthanc rejects the service credential', async () => {
    const gateway = await gatewayTo({ ORTHANC_PASSWORD: 'not-the-password' });
    const response = await qido(gateway);
    expect(response.status).toBe(502);
    expect(response.headers.get('www-authenticate')).toBeNull();
    expect(await response.json()).toMatchObject({ error: 'bad_gateway', message: expect.stringContaining('service credential') });
  });

  it('answers 504 JSON within the timeout when Orthanc stalls, and recovers when it resumes', async () => {
    const gateway = await gatewayTo({ ORTHANC_TIMEOUT_MS: '700' });
    expect((await qido(gateway)).status).toBe(200);
    process.kill(orthanc.pid, 'SIGSTOP');
    try {
      const startedAt = Date.now();
      const response = await qido(gateway);
      expect(response.status).toBe(504);
      expect(await response.json()).toMatchObject({ error: 'gateway_timeout' });
      expect(Date.now() - startedAt).toBeLessThan(5000);
    } finally {
      process.kill(orthanc.pid, 'SIGCONT');
    }
    expect((await qido(gateway)).status).toBe(200);
  });

  it('a busy event loop while a new connection to Orthanc is being made is no timeout: 200, not 504', async () => {
    const gateway = await gatewayTo({});
    const orthancPort = new URL(orthanc.url).port;
    // The gateway's event loop blocked for 1.2 s just as it opened its first connection to Orthanc
    // (undici's pool, upstream-pool.ts), as on a starved machine: longer than the pool's idle timeout.
    let blocked = 0;
    const blockOnce = (message: unknown) => {
      const { connectParams } = message as { connectParams: { port: string } };
      if (blocked > 0 || String(connectParams.port) !== orthancPort) return;
      blocked += 1;
      const until = Date.now() + 1200;
      while (Date.now() < until); // busy, on purpose
    };
    subscribe('undici:client:beforeConnect', blockOnce);
    try {
      const response = await qido(gateway);
      expect({ status: response.status, blocked }).toEqual({ status: 200, blocked: 1 });
    } finally {
      unsubscribe('undici:client:beforeConnect', blockOnce);
    }
  });
});
