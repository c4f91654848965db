import { mkdtempSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { makeSeries, type GeneratedSeries } from '../support/dicom.js';
import { ACCEPT_DICOM_JSON, ACCEPT_FRAMES, stowBody } from '../support/dicomweb.js';
import { auditEventOf, auditLines } from '../support/audit-events.js';
import { freePort } from '../support/free-port.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { Browser } from '../support/http-browser.js';
import { startOrthanc, uploadInstances, type TestOrthanc } from '../support/orthanc.js';
import { rawRequest } from '../support/raw-http.js';
import { DEV_PASSWORDS, LogSink, signIn, startSessionStack, type SessionStack, signedInBrowser } from '../support/session-stack.js';
import { startTestIssuer, type TestIssuer } from '../support/test-issuer.js';

/**
 * Observability with real components: the audit trail (one event per /pacs, /pacs-admin request and
 * per sign-in, sign-out and refusal), Prometheus metrics, and logs that never carry a credential,
 * even at LOG_LEVEL=trace. Bearer tokens from a test issuer; browser sessions through the dev IdP.
 */
type Line = Record<string, unknown>;

const TOKEN_SECONDS = 4;
const SESSION_SECRET = 'observability-session-secret-0123456789abcdef';
const BASIC_USER = 'basic-user';
const BASIC_PASSWORD = 'basic-password-never-logged-7f3a';

let orthanc: TestOrthanc;
let issuer: TestIssuer;
let gateway: TestGateway;
let stack: SessionStack;
let ct: GeneratedSeries;
let ctInstanceIds: string[];
const logs = new LogSink();
const started: TestGateway[] = [];
const tokens: Record<'viewer' | 'uploader' | 'admin' | 'expired' | 'forged', string> = { viewer: '', uploader: '', admin: '', expired: '', forged: '' };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One request over plain node:http (fetch would add its own Sec-Fetch-* headers); the whole response is read. */
async function call(
  path: string,
  { token, method = 'GET', headers = {}, body, base }: { token?: string; method?: string; headers?: Record<string, string>; body?: string | Buffer; base?: string } = {},
): Promise<{ status: number; requestId: string }> {
  const response = await rawRequest(base ?? gateway.url, path, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body,
  });
  return { status: response.status, requestId: String(response.headers['x-request-id'] ?? '') };
}

const auditOf = (requestId: string, sink: LogSink = logs): Promise<Line> => auditEventOf(requestId, sink);

async function waitForAudit(predicate: (line: Line) => boolean, sink: LogSink): Promise<Line> {
  for (let waited = 0; waited < 5000; waited += 50) {
    const found = auditLines(sink).find(predicate);
    if (found) return found;
    await sleep(50);
  }
  throw new Error('no such audit event');
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const labels = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]));
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

async function scrape(base: string = gateway.url) {
  const response = await fetch(`${base}/metrics`);
  expect(response.status).toBe(200);
  const text = await response.text();
  const samples = parseMetrics(text);
  /** Sum of the samples of `name` whose labels include `labels`. */
  const value = (name: string, labels: Record<string, string> = {}) =>
    samples
      .filter((sample) => sample.name === name && Object.entries(labels).every(([key, expected]) => sample.labels[key] === expected))
      .reduce((sum, sample) => sum + sample.value, 0);
  return { text, samples, value, contentType: response.headers.get('content-type') };
}

async function gatewayWith(env: Record<string, string>, sink?: LogSink): Promise<TestGateway> {
  const extra = await startTestGateway(
    { OIDC_ISSUER: issuer.issuer, ORTHANC_URL: orthanc.url, ORTHANC_USERNAME: orthanc.username, ORTHANC_PASSWORD: orthanc.password, LOG_LEVEL: 'info', RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '1000', ...env },
    { logDestination: sink ?? new LogSink() },
  );
  started.push(extra);
  return extra;
}

beforeAll(async () => {
  [orthanc, issuer, stack] = await Promise.all([
    startOrthanc(),
    startTestIssuer(),
    startSessionStack({ accessTokenLifespan: TOKEN_SECONDS, env: { LOG_LEVEL: 'trace', SESSION_SECRET, RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '1000' } }),
  ]);
  ct = makeSeries({ modality: 'CT', patientName: 'Audit^Alice', patientId: 'P-AUDIT', instances: 2, rows: 16, columns: 16 });
  ctInstanceIds = (await uploadInstances(orthanc, ct.files)).map((result) => result.ID);
  gateway = await gatewayWith({ LOG_LEVEL: 'trace' }, logs);
  tokens.viewer = await issuer.token('viewer', ['pacs-viewer']);
  tokens.uploader = await issuer.token('uploader', ['pacs-uploader', 'pacs-viewer']);
  tokens.admin = await issuer.token('admin', ['pacs-admin']);
  const now = Math.floor(Date.now() / 1000);
  tokens.expired = await issuer.token('viewer', ['pacs-viewer'], { iat: now - 600, exp: now - 300 });
  tokens.forged = await issuer.sign(issuer.accessClaims('viewer', ['pacs-admin']), { key: await issuer.newKey() });
}, 60_000);

afterAll(async () => {
  await Promise.all([gateway, ...started].filter(Boolean).map((running) => running.close(1000)));
  await Promise.allSettled([orthanc?.stop(), issuer?.stop(), stack?.stop()]);
});

describe('audit trail: Bearer access to /pacs and /pacs-admin', () => {
  const viewer = { sub: 'sub-viewer', username: 'viewer' };

  it('records a QIDO search with the study UID of its query, without the query string', async () => {
    const { status, requestId } = await call(`/pacs/dicom-web/studies?StudyInstanceUID=${ct.studyInstanceUid}&PatientID=P-AUDIT`, {
      token: tokens.viewer,
      headers: { accept: ACCEPT_DICOM_JSON },
    });
    expect(status).toBe(200);
    const event = await auditOf(requestId);
    expect(event).toEqual({
      level: 30,
      time: expect.any(String),
      service: 'orthanc-oidc-gateway',
      log: 'audit',
      msg: 'audit',
      event: 'access',
      action: 'search',
      user: viewer,
      via: 'bearer',
      clientId: 'ohif-viewer',
      method: 'GET',
      path: '/pacs/dicom-web/studies',
      status: 200,
      routeClass: 'dicomweb-read',
      studyUid: ct.studyInstanceUid,
      clientIp: '127.0.0.1',
      requestId,
      bytesOut: expect.any(Number),
    });
    expect(event['bytesOut']).toBeGreaterThan(100);
    // The query (here a patient id) reaches neither the audit trail nor the request log.
    const lines = logs.lines.filter((line) => line['requestId'] === requestId);
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(JSON.stringify(lines)).not.toContain('P-AUDIT');
  });

  it('records searches under a study and retrieves with the UIDs of the path', async () => {
    const study = `/pacs/dicom-web/studies/${ct.studyInstanceUid}`;
    const series = `${study}/series/${ct.seriesInstanceUid}`;
    const instance = `${series}/instances/${ct.sopInstanceUids[0]}`;
    const cases: Array<[string, Record<string, string>, Line]> = [
      [`${study}/series`, {}, { action: 'search', studyUid: ct.studyInstanceUid }],
      [`${series}/metadata`, {}, { action: 'retrieve', studyUid: ct.studyInstanceUid, seriesUid: ct.seriesInstanceUid }],
      [
        `${instance}/frames/1`,
        { accept: ACCEPT_FRAMES },
        { action: 'retrieve', studyUid: ct.studyInstanceUid, seriesUid: ct.seriesInstanceUid, instanceUid: ct.sopInstanceUids[0]! },
      ],
      [
        `/pacs/wado?requestType=WADO&studyUID=${ct.studyInstanceUid}&seriesUID=${ct.seriesInstanceUid}&objectUID=${ct.sopInstanceUids[1]}&contentType=application/dicom`,
        {},
        { action: 'retrieve', routeClass: 'wado-uri', path: '/pacs/wado', studyUid: ct.studyInstanceUid, seriesUid: ct.seriesInstanceUid, instanceUid: ct.sopInstanceUids[1]! },
      ],
      [`/pacs/instances/${ctInstanceIds[0]}/preview`, {}, { action: 'retrieve', routeClass: 'preview', path: `/pacs/instances/${ctInstanceIds[0]}/preview` }],
    ];
    for (const [path, headers, expected] of cases) {
      const { status, requestId } = await call(path, { token: tokens.viewer, headers });
      expect([path, status]).toEqual([path, 200]);
      expect(await auditOf(requestId)).toMatchObject({ event: 'access', user: viewer, via: 'bearer', status: 200, ...expected });
    }
  });

  it('records a STOW-RS upload as store, and /pacs-admin as admin', async () => {
    const upload = makeSeries({ modality: 'MR', patientName: 'Audit^Upload', patientId: 'P-UP', instances: 1, rows: 8, columns: 8 });
    const { body, contentType } = stowBody(upload.files);
    const stored = await call('/pacs/dicom-web/studies', { token: tokens.uploader, method: 'POST', headers: { 'content-type': contentType }, body });
    expect(stored.status).toBe(200);
    expect(await auditOf(stored.requestId)).toMatchObject({
      event: 'access',
      action: 'store',
      user: { sub: 'sub-uploader', username: 'uploader' },
      method: 'POST',
      path: '/pacs/dicom-web/studies',
      routeClass: 'dicomweb-store',
      status: 200,
    });

    const admin = await call('/pacs-admin/system', { token: tokens.admin });
    expect(admin.status).toBe(200);
    expect(await auditOf(admin.requestId)).toMatchObject({
      event: 'access',
      action: 'admin',
      user: { sub: 'sub-admin', username: 'admin' },
      path: '/pacs-admin/system',
      routeClass: 'admin',
    });
  });

  it('records every refusal as denied, with its reason and the user when known', async () => {
    const study = `/pacs/dicom-web/studies/${ct.studyInstanceUid}/metadata`;
    const basic = `Basic ${Buffer.from(`${BASIC_USER}:${BASIC_PASSWORD}`).toString('base64')}`;
    const cases: Array<[string, Parameters<typeof call>[1], number, Line]> = [
      [study, {}, 401, { reason: 'missing', user: null, via: null, studyUid: ct.studyInstanceUid }],
      [study, { headers: { authorization: basic } }, 401, { reason: 'missing', user: null }],
      [study, { headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' } }, 302, { reason: 'missing', user: null }],
      [study, { token: tokens.expired }, 401, { reason: 'expired', user: null }],
      [study, { token: tokens.forged }, 401, { reason: 'invalid_token', user: null }],
      ['/pacs-admin/system', { token: tokens.viewer }, 403, { reason: 'forbidden', user: viewer, via: 'bearer', routeClass: 'admin' }],
      ['/pacs-admin/tools/execute-script', { token: tokens.admin, method: 'POST', body: 'os.exit()' }, 403, { reason: 'blocked', user: { sub: 'sub-admin', username: 'admin' }, routeClass: 'admin-blocked' }],
      ['/pacs/dicom-web/studies', { token: tokens.viewer, method: 'POST', headers: { 'content-type': 'multipart/related; type="application/dicom"; boundary=x' }, body: '--x--' }, 403, { reason: 'forbidden', routeClass: 'dicomweb-store' }],
    ];
    for (const [path, options, status, expected] of cases) {
      const result = await call(path, options);
      expect([path, options, result.status]).toEqual([path, options, status]);
      expect(await auditOf(result.requestId)).toMatchObject({ event: 'denied', action: 'denied', status, ...expected });
    }
  });

  it('records a request refused by the failed-authentication rate limit as denied', async () => {
    const sink = new LogSink();
    const limited = await gatewayWith({ RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '1' }, sink);
    expect((await call('/pacs/dicom-web/studies', { base: limited.url })).status).toBe(401);
    await sleep(100); // the failure is counted once the response has finished
    const refused = await call('/pacs/dicom-web/studies', { base: limited.url, token: tokens.viewer });
    expect(refused.status).toBe(429);
    expect(await auditOf(refused.requestId, sink)).toMatchObject({ event: 'denied', action: 'denied', reason: 'rate_limited', status: 429, user: null });
    const metrics = await scrape(limited.url);
    expect([metrics.value('gateway_auth_failures_total', { reason: 'missing' }), metrics.value('gateway_auth_failures_total', { reason: 'rate_limited' })]).toEqual([1, 1]);
  });

  it('writes no audit event for the gateway’s own endpoints or unknown paths', async () => {
    for (const [path, token] of [['/healthz'], ['/metrics'], ['/auth/me', tokens.viewer], ['/pacs/unknown', tokens.viewer], ['/nothing-here']] as Array<[string, string?]>) {
      const { requestId } = await call(path, { token });
      await sleep(50);
      expect([path, auditLines(logs).filter((line) => line['requestId'] === requestId)]).toEqual([path, []]);
    }
  });

  it('takes the client address from X-Forwarded-For with TRUST_PROXY, and writes to AUDIT_LOG_FILE when set', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'audit-')), 'audit.log');
    const sink = new LogSink();
    const proxied = await gatewayWith({ TRUST_PROXY: 'true', AUDIT_LOG_FILE: file }, sink);
    // Only the hop added by the proxy in front counts: a client-forged entry before it is ignored.
    const { status, requestId } = await call('/pacs/dicom-web/studies', {
      base: proxied.url,
      token: tokens.viewer,
      headers: { 'x-forwarded-for': '198.51.100.66, 203.0.113.9' },
    });
    expect(status).toBe(200);
    await sleep(100);
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Line);
    // The file is hash-chained: an anchor record starts each run (see audit-chain.test.ts).
    expect(lines).toEqual([
      expect.objectContaining({ log: 'audit', event: 'anchor', reason: 'start', seq: 0 }),
      expect.objectContaining({ log: 'audit', event: 'access', action: 'search', clientIp: '203.0.113.9', requestId, seq: 1 }),
    ]);
    expect(auditLines(sink)).toEqual([]);
    expect(sink.lines.some((line) => line['msg'] === 'request' && line['requestId'] === requestId)).toBe(true);
  });
});

describe('/metrics', () => {
  it('counts requests by route class, method and status, their latency, and auth failures by reason', async () => {
    const before = await scrape();
    for (let index = 0; index < 2; index++) expect((await call('/pacs/dicom-web/studies', { token: tokens.viewer })).status).toBe(200);
    expect((await call('/pacs/dicom-web/studies')).status).toBe(401);
    expect((await call('/pacs/dicom-web/studies', { token: tokens.expired })).status).toBe(401);
    expect((await call('/pacs/dicom-web/studies', { token: tokens.forged })).status).toBe(401);
    expect((await call('/pacs-admin/system', { token: tokens.viewer })).status).toBe(403);
    expect((await call('/healthz')).status).toBe(200);
    await sleep(50);
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}) => after.value(name, labels) - before.value(name, labels);

    const requests = 'gateway_http_requests_total';
    expect(delta(requests, { route_class: 'dicomweb-read', method: 'GET', status: '200' })).toBe(2);
    expect(delta(requests, { route_class: 'dicomweb-read', method: 'GET', status: '401' })).toBe(3);
    expect(delta(requests, { route_class: 'admin', method: 'GET', status: '403' })).toBe(1);
    expect(delta(requests, { route_class: 'ops', method: 'GET', status: '200' })).toBe(2); // /healthz and the first scrape
    expect(delta('gateway_http_request_duration_seconds_count', { route_class: 'dicomweb-read' })).toBe(5);
    expect(after.value('gateway_http_request_duration_seconds_bucket', { route_class: 'dicomweb-read', le: '+Inf' })).toBe(
      after.value('gateway_http_request_duration_seconds_count', { route_class: 'dicomweb-read' }),
    );
    for (const [reason, count] of [['missing', 1], ['expired', 1], ['invalid_token', 1], ['forbidden', 1], ['csrf', 0]] as const) {
      expect([reason, delta('gateway_auth_failures_total', { reason })]).toEqual([reason, count]);
    }
    expect(after.value('gateway_upstream_errors_total')).toBe(0);
    expect(after.value('gateway_token_refreshes_total')).toBe(0);
  });

  it('serves the Prometheus text format with the default process metrics, and no identifiers in labels', async () => {
    const { text, contentType, value } = await scrape();
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
      expect(text).toContain(`\n${name} `);
    }
    // The event-loop delay histogram (perf_hooks.monitorEventLoopDelay), documented in README's metrics table.
    for (const quantile of ['p50', 'p90', 'p99']) {
      const delay = value(`nodejs_eventloop_lag_${quantile}_seconds`);
      expect([quantile, Number.isFinite(delay) && delay > 0 && delay < 5]).toEqual([quantile, true]);
    }
    expect(value('gateway_auth_failures_total', { reason: 'orthanc_forbidden' })).toBe(0); // known reasons start at 0
    // Many UIDs, users and paths went through this gateway: none is a label value.
    for (const identifier of [ct.studyInstanceUid, ct.seriesInstanceUid, ctInstanceIds[0]!, 'sub-viewer', 'viewer"', '/pacs', 'dicom-web', 'P-AUDIT']) {
      expect([identifier, text.includes(identifier)]).toEqual([identifier, false]);
    }
  });

  it('counts upstream errors by kind: unreachable, timeout, credential rejected (each gateway its own registry)', async () => {
    // Accepts connections, never reads nor answers: the gateway's FIN stays behind the unread request,
    // so the accepted sockets are destroyed here (closing the server leaves them open).
    const accepted = new Set<net.Socket>();
    const silent = net.createServer((socket) => accepted.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const kinds: Array<[string, Record<string, string>, number]> = [
        ['unreachable', { ORTHANC_URL: `http://127.0.0.1:${await freePort()}` }, 502],
        ['timeout', { ORTHANC_URL: `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`, ORTHANC_TIMEOUT_MS: '300' }, 504],
        ['credential_rejected', { ORTHANC_PASSWORD: 'not-the-password' }, 502],
      ];
      for (const [kind, env, status] of kinds) {
        const sink = new LogSink();
        const failing = await gatewayWith(env, sink);
        const result = await call('/pacs/dicom-web/studies', { base: failing.url, token: tokens.viewer });
        expect([kind, result.status]).toEqual([kind, status]);
        expect(await auditOf(result.requestId, sink)).toMatchObject({ event: 'access', action: 'search', status, user: viewer() });
        const metrics = await scrape(failing.url);
        expect([kind, metrics.value('gateway_upstream_errors_total', { kind })]).toEqual([kind, 1]);
        expect(metrics.value('gateway_upstream_errors_total')).toBe(1);
        expect(metrics.value('gateway_http_requests_total', { route_class: 'dicomweb-read' })).toBe(1);
      }
      // The first gateway never saw those failures.
      expect((await scrape()).value('gateway_upstream_errors_total')).toBe(0);
    } finally {
      for (const socket of accepted) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  const viewer = () => ({ sub: 'sub-viewer', username: 'viewer' });
});

describe('browser sessions: sign-in, sign-out, refusals, refreshes', () => {
  const json = { accept: 'application/json' };
  let gatewayUrl: string;
  beforeAll(() => {
    gatewayUrl = stack.gateways[0]!.url;
  });

  const signedIn = (username: string) => signedInBrowser(gatewayUrl, username);

  it('records the sign-in, session accesses, a cross-site upload and the sign-out', async () => {
    const loginsBefore = auditLines(stack.logs).filter((line) => line['event'] === 'login').length;
    const browser = await signedIn('uploader');
    const logins = auditLines(stack.logs).filter((line) => line['event'] === 'login');
    expect(logins).toHaveLength(loginsBefore + 1);
    expect(logins.at(-1)).toMatchObject({
      event: 'login',
      action: 'login',
      user: { sub: expect.any(String), username: 'uploader' },
      via: 'session',
      method: 'GET',
      path: '/auth/callback',
      status: 302,
      clientIp: '127.0.0.1',
      requestId: expect.any(String),
    });
    const sub = (logins.at(-1)!['user'] as { sub: string }).sub;

    const search = await browser.request(`${gatewayUrl}/pacs/dicom-web/studies`, { headers: json });
    expect(search.status).toBe(200);
    expect(await auditOf(search.headers.get('x-request-id')!, stack.logs)).toMatchObject({
      event: 'access',
      action: 'search',
      user: { sub, username: 'uploader' },
      via: 'session',
    });

    const upload = makeSeries({ modality: 'CT', patientName: 'Cross^Site', patientId: 'P-X', instances: 1, rows: 8, columns: 8 });
    const { body, contentType } = stowBody(upload.files);
    const metricsBefore = await scrape(gatewayUrl);
    const crossSite = await browser.request(`${gatewayUrl}/pacs/dicom-web/studies`, {
      method: 'POST',
      headers: { 'content-type': contentType, origin: 'http://evil.example' },
      body,
    });
    expect(crossSite.status).toBe(403);
    expect(await auditOf(crossSite.headers.get('x-request-id')!, stack.logs)).toMatchObject({
      event: 'denied',
      action: 'denied',
      reason: 'csrf',
      method: 'POST',
      routeClass: 'dicomweb-store',
    });
    await sleep(50);
    expect((await scrape(gatewayUrl)).value('gateway_auth_failures_total', { reason: 'csrf' }) - metricsBefore.value('gateway_auth_failures_total', { reason: 'csrf' })).toBe(1);

    const logout = await browser.request(`${gatewayUrl}/auth/logout`, { method: 'POST', headers: { origin: gatewayUrl } });
    expect(logout.status).toBe(302);
    expect(await auditOf(logout.headers.get('x-request-id')!, stack.logs)).toMatchObject({
      event: 'logout',
      action: 'logout',
      user: { sub, username: 'uploader' },
      via: 'session',
      method: 'POST',
      path: '/auth/logout',
      status: 302,
    });
  });

  it('records a refused sign-in and a refused cross-site sign-out', async () => {
    const callback = await fetch(`${gatewayUrl}/auth/callback?code=stolen-code&state=unknown-state`, { redirect: 'manual' });
    expect(callback.status).toBe(400);
    expect(await auditOf(callback.headers.get('x-request-id')!, stack.logs)).toMatchObject({
      event: 'denied',
      action: 'denied',
      reason: 'login_failed',
      user: null,
      path: '/auth/callback',
      status: 400,
    });
    expect(JSON.stringify(stack.logs.lines)).not.toContain('stolen-code');

    const browser = await signedIn('viewer');
    const logout = await browser.request(`${gatewayUrl}/auth/logout`, { method: 'POST', headers: { origin: 'http://evil.example' } });
    expect(logout.status).toBe(403);
    expect(await auditOf(logout.headers.get('x-request-id')!, stack.logs)).toMatchObject({ event: 'denied', reason: 'csrf', path: '/auth/logout' });
  });

  it('records a back-channel logout requested by the IdP', async () => {
    const browser = await signedIn('viewer');
    const me = (await (await browser.request(`${gatewayUrl}/auth/me`, { headers: json })).json()) as { sub: string };
    const confirm = await browser.navigate(`${stack.idp.issuer}/protocol/openid-connect/logout`, {}, []);
    if (confirm.kind !== 'page') throw new Error('expected the IdP sign-out confirmation page');
    const form = /<form[^>]*action="([^"]+)"[^>]*>\s*<input type="hidden" name="xsrf" value="([^"]+)"/.exec(confirm.html);
    if (!form) throw new Error('no sign-out form');
    await browser.navigate(new URL(form[1]!, confirm.url).href, { method: 'POST', body: new URLSearchParams({ xsrf: form[2]!, logout: 'yes' }) }, []);
    const event = await waitForAudit((line) => line['via'] === 'backchannel' && (line['user'] as { sub?: string } | null)?.sub === me.sub, stack.logs);
    expect(event).toMatchObject({ event: 'logout', action: 'logout', method: 'POST', path: '/auth/backchannel-logout', status: 200, sessionsEnded: expect.any(Number) });
    expect(event['sessionsEnded']).toBeGreaterThanOrEqual(1);
  });

  it('counts access token refreshes', async () => {
    const browser = await signedIn('viewer');
    const before = (await scrape(gatewayUrl)).value('gateway_token_refreshes_total', { outcome: 'success' });
    await sleep((TOKEN_SECONDS - 0.7) * 1000); // inside the refresh window
    expect((await browser.request(`${gatewayUrl}/pacs/dicom-web/studies`, { headers: json })).status).toBe(200);
    await sleep(50);
    const after = await scrape(gatewayUrl);
    expect(after.value('gateway_token_refreshes_total', { outcome: 'success' }) - before).toBe(1);
    expect(after.value('gateway_token_refreshes_total', { outcome: 'failure' })).toBe(0);
  }, 20_000);
});

describe('log hygiene (LOG_LEVEL=trace)', () => {
  it('never logs a token, cookie, password, secret or Authorization header', async () => {
    const gatewayUrl = stack.gateways[0]!.url;
    const browser = new Browser();
    await signIn(browser, gatewayUrl, 'admin');
    const cookie = browser.cookie('gw-session')!;
    const sessionId = /^s:([^.]+)\./.exec(decodeURIComponent(cookie))![1]!;
    const redis = new Redis(stack.redis.url);
    const session = JSON.parse((await redis.get(`gw:sess:${sessionId}`))!) as { user: { tokens: { accessToken: string; refreshToken: string; idToken: string } } };
    redis.disconnect();
    const { accessToken, refreshToken, idToken } = session.user.tokens;
    const basic = Buffer.from(`${BASIC_USER}:${BASIC_PASSWORD}`).toString('base64');

    // Session cookie, the session's access token as a Bearer token, Basic credentials, and a mix.
    const requests: Array<Promise<Response>> = [
      browser.request(`${gatewayUrl}/pacs/dicom-web/studies`),
      browser.request(`${gatewayUrl}/pacs-admin/system`),
      browser.request(`${gatewayUrl}/pacs-admin/tools/execute-script`, { method: 'POST', headers: { origin: gatewayUrl }, body: 'x' }),
      fetch(`${gatewayUrl}/pacs/dicom-web/studies`, { headers: { authorization: `Bearer ${accessToken}` } }),
      fetch(`${gatewayUrl}/auth/me`, { headers: { authorization: `Bearer ${accessToken}` } }),
      fetch(`${gatewayUrl}/pacs/dicom-web/studies`, { headers: { authorization: `Bearer ${accessToken}x` } }),
      fetch(`${gatewayUrl}/pacs/dicom-web/studies`, { headers: { authorization: `Basic ${basic}` } }),
      fetch(`${gatewayUrl}/pacs-admin/system`, { headers: { authorization: `Basic ${basic}`, cookie: `gw-session=${cookie}` } }),
      fetch(`${gatewayUrl}/pacs/dicom-web/studies`, { headers: { authorization: `Bearer ${refreshToken}` } }),
      fetch(`${gatewayUrl}/pacs/dicom-web/studies`, { headers: { authorization: `Bearer ${idToken}` } }),
      fetch(`${gatewayUrl}/pacs/dicom-web/studies`, { headers: { authorization: `Bearer ${accessToken}`, cookie: `gw-session=${cookie}` } }),
      fetch(`${gatewayUrl}/nothing?token=${accessToken}`, { headers: { cookie: `gw-session=${cookie}` } }),
    ];
    const statuses = await Promise.all(requests.map(async (pending) => (await pending).status));
    expect(statuses.slice(0, 5)).toEqual([200, 200, 403, 200, 200]);
    await browser.request(`${gatewayUrl}/auth/logout`, { method: 'POST', headers: { origin: gatewayUrl } });

    // And the Bearer gateway's log, with every token the tests above used.
    for (const token of Object.values(tokens)) {
      await call('/pacs/dicom-web/studies', { headers: { authorization: `Bearer ${token}`, cookie: `gw-session=${cookie}` } });
    }
    await sleep(100);

    const secrets: Record<string, string> = {
      accessToken,
      refreshToken,
      idToken,
      cookie,
      cookieEncoded: encodeURIComponent(cookie),
      sessionId,
      basic,
      basicPassword: BASIC_PASSWORD,
      sessionSecret: SESSION_SECRET,
      clientSecret: stack.gateways[0]!.config.oidc.clientSecret!,
      orthancPassword: stack.orthanc.password,
      adminPassword: DEV_PASSWORDS['admin']!,
      ...Object.fromEntries(Object.entries(tokens).map(([name, token]) => [`${name}Token`, token])),
      bearerOrthancPassword: orthanc.password,
    };
    // A token is three base64url parts: none of them (header, claims, signature) may appear.
    for (const [name, value] of Object.entries(secrets)) {
      const parts = value.split('.').length === 3 ? value.split('.').filter((part) => part.length > 20) : [value];
      parts.forEach((part, index) => (secrets[`${name}#${index}`] = part));
    }
    const output = [stack.logs, logs].map((sink) => sink.lines.map((line) => JSON.stringify(line)).join('\n')).join('\n');
    expect([stack.gateways[0]!.config.logLevel, gateway.config.logLevel]).toEqual(['trace', 'trace']);
    expect(stack.logs.count('request')).toBeGreaterThan(requests.length);
    const leaked = Object.entries(secrets)
      .filter(([, value]) => value && output.includes(value))
      .map(([name]) => name);
    expect(leaked).toEqual([]);
    expect(output).not.toMatch(/authorization/i);
    expect(output).not.toMatch(/"cookie"/i);
  }, 30_000);
});
