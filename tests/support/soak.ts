import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { startDevIdp, type DevIdp } from '../../src/devidp/server.js';
import { makeSeries } from './dicom.js';
import { signInWithCodeFlow } from './dev-idp-login.js';
import { freePort } from './free-port.js';
import { spawnGateway, type GatewayProcess } from './gateway-process.js';
import { Browser } from './http-browser.js';
import { startOrthanc, uploadInstances, type TestOrthanc } from './orthanc.js';
import { waitFor } from './process.js';
import { startRedis, type TestRedis } from './redis.js';
import { DEV_PASSWORDS, signIn } from './session-stack.js';

/**
 * A soak run: the gateway as its own process (`node --import tsx src/main.ts`, so its RSS is its
 * own), Orthanc, Redis and the dev IdP, loaded by autocannon with a mix of QIDO-RS searches and
 * WADO-RS frames (Bearer), while a browser signs in every few seconds. Loopback only, bounded by
 * `seconds`. Used by tests/integration/load.test.ts (short) and bench/soak.ts (long).
 */
export interface SoakStack {
  gatewayUrl: string;
  gatewayPid: number;
  token: string;
  requests: Array<{ method: 'GET'; path: string; headers: Record<string, string> }>;
  /** One browser sign-in plus one QIDO with the session; true when both worked. */
  signInOnce(): Promise<boolean>;
  gatewayOutput(): string;
  stop(): Promise<void>;
}

export interface SoakOptions {
  seconds: number;
  connections: number;
  /** Pause between two browser sign-ins. */
  loginPauseMs?: number;
  /** RSS is averaged over the first and the last this-many seconds. */
  windowSeconds: number;
}

export interface SoakReport {
  seconds: number;
  connections: number;
  requests: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodes: Record<string, number>;
  logins: { ok: number; failed: number };
  /** Gateway RSS in MB: mean of the first and of the last window, the highest sample, and the mean of each window in turn. */
  rssMb: { first: number; last: number; max: number; windowSeconds: number; byWindow: number[] };
}

const ACCEPT_JSON = 'application/dicom+json';
const ACCEPT_FRAMES = 'multipart/related; type="application/octet-stream"; transfer-syntax=*';
const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function rssMbOf(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

export async function startSoakStack(): Promise<SoakStack> {
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  let orthanc: TestOrthanc | undefined;
  let redis: TestRedis | undefined;
  let idp: DevIdp | undefined;
  let gateway: GatewayProcess | undefined;
  // The audit trail (a line per request) goes to a file: the gateway's captured output keeps its warnings.
  const auditDir = await mkdtemp(join(tmpdir(), 'soak-audit-'));
  const stop = async () => {
    await gateway?.stop();
    await Promise.allSettled([orthanc?.stop(), redis?.stop(), idp?.stop(), rm(auditDir, { recursive: true, force: true })]);
  };
  try {
    [orthanc, redis, idp] = await Promise.all([startOrthanc(), startRedis(), startDevIdp({ appOrigin: publicUrl })]);
    const series = makeSeries({ modality: 'CT', patientName: 'Soak^Test', patientId: 'P-SOAK', instances: 8, rows: 256, columns: 256 });
    await uploadInstances(orthanc, series.files);
    const clientSecret = idp.realm.clients.find((client) => client.clientId === 'orthanc-gateway')?.secret;
    gateway = await spawnGateway({
      PORT: String(port),
      PUBLIC_URL: publicUrl,
      OIDC_ISSUER: idp.issuer,
      OIDC_CLIENT_SECRET: clientSecret,
      ORTHANC_URL: orthanc.url,
      ORTHANC_USERNAME: orthanc.username,
      ORTHANC_PASSWORD: orthanc.password,
      REDIS_URL: redis.url,
      SESSION_SECRET: 'soak-session-secret-0123456789abcdef0123456789',
      // One access-log line per request would mostly measure the log pipe into this process.
      LOG_LEVEL: 'warn',
      AUDIT_LOG_FILE: join(auditDir, 'audit.log'),
      RATE_LIMIT_LOGIN_PER_MINUTE: '10000',
      RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '10000',
    });
    const started = gateway;
    await waitFor(async () => (await fetch(`${publicUrl}/healthz`)).status === 200, {
      what: 'the gateway process to answer /healthz',
      timeoutMs: 30_000,
      intervalMs: 200,
      abortIf: () => (started.proc.hasExited() ? `the gateway exited:\n${started.output()}` : undefined),
    });
    const token = (
      await signInWithCodeFlow({
        issuer: idp.issuer,
        clientId: 'orthanc-gateway',
        clientSecret,
        redirectUri: `${publicUrl}/auth/callback`,
        username: 'viewer',
        password: DEV_PASSWORDS['viewer']!,
      })
    ).access_token;
    const study = `/pacs/dicom-web/studies/${series.studyInstanceUid}`;
    const json = { accept: ACCEPT_JSON };
    const requests = [
      { method: 'GET' as const, path: '/pacs/dicom-web/studies?PatientID=P-SOAK', headers: json },
      ...series.sopInstanceUids.map((uid) => ({
        method: 'GET' as const,
        path: `${study}/series/${series.seriesInstanceUid}/instances/${uid}/frames/1`,
        headers: { accept: ACCEPT_FRAMES },
      })),
      { method: 'GET' as const, path: `${study}/series`, headers: json },
      { method: 'GET' as const, path: `${study}/series/${series.seriesInstanceUid}/instances`, headers: json },
    ];
    return {
      gatewayUrl: publicUrl,
      gatewayPid: gateway.proc.pid,
      token,
      requests,
      async signInOnce() {
        try {
          const browser = new Browser();
          const step = await signIn(browser, publicUrl, 'viewer');
          if (step.kind !== 'page' || step.status !== 200) return false;
          return (await browser.request(`${publicUrl}/pacs/dicom-web/studies?PatientID=P-SOAK`, { headers: json })).status === 200;
        } catch {
          return false;
        }
      },
      gatewayOutput: () => started.output(),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

export async function runSoak(stack: SoakStack, options: SoakOptions): Promise<SoakReport> {
  const rss: Array<{ at: number; mb: number }> = [];
  const startedAt = Date.now();
  const sampler = setInterval(() => {
    const mb = rssMbOf(stack.gatewayPid);
    if (mb !== undefined) rss.push({ at: (Date.now() - startedAt) / 1000, mb });
  }, 500);

  const logins = { ok: 0, failed: 0 };
  let running = true;
  const loginLoop = (async () => {
    while (running) {
      if (await stack.signInOnce()) logins.ok += 1;
      else logins.failed += 1;
      await sleep(options.loginPauseMs ?? 2000);
    }
  })();

  const latencies: number[] = [];
  const statusCodes: Record<string, number> = {};
  const instance = autocannon({
    url: stack.gatewayUrl,
    connections: options.connections,
    duration: options.seconds,
    timeout: 30,
    headers: { authorization: `Bearer ${stack.token}` },
    requests: stack.requests,
  });
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    statusCodes[statusCode] = (statusCodes[statusCode] ?? 0) + 1;
    latencies.push(responseTime);
  });
  let result: Awaited<typeof instance>;
  try {
    result = await instance;
  } finally {
    running = false;
    await loginLoop;
    clearInterval(sampler);
  }
  const elapsed = (Date.now() - startedAt) / 1000;
  const sorted = Float64Array.from(latencies).sort();
  const at = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN);
  const mean = (values: number[]) => (values.length ? values.reduce((sum, value) => sum + value, 0) / values.length : NaN);
  const window = options.windowSeconds;
  return {
    seconds: round(elapsed),
    connections: options.connections,
    requests: latencies.length,
    reqPerSec: Math.round(latencies.length / elapsed),
    p50Ms: round(at(50)),
    p99Ms: round(at(99)),
    maxMs: round(sorted.length ? sorted[sorted.length - 1]! : NaN),
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    statusCodes,
    logins,
    rssMb: {
      first: round(mean(rss.filter((sample) => sample.at <= window).map((sample) => sample.mb))),
      last: round(mean(rss.filter((sample) => sample.at >= elapsed - window).map((sample) => sample.mb))),
      max: round(Math.max(...rss.map((sample) => sample.mb))),
      windowSeconds: window,
      byWindow: Array.from({ length: Math.ceil(elapsed / window) }, (_, index) =>
        round(mean(rss.filter((sample) => sample.at >= index * window && sample.at < (index + 1) * window).map((sample) => sample.mb))),
      ).filter((value) => !Number.isNaN(value)),
    },
  };
}
