import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { makeSeries } from '../support/dicom.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { orthancBasicAuth, startOrthanc, uploadInstances, type TestOrthanc } from '../support/orthanc.js';
import { requestHead, socketExchange, type ParsedResponse, type SocketExchange } from '../support/raw-socket.js';
import { expectGatewayAlive, expectOrthancSawNothing, NO_RATE_LIMITS } from '../support/security.js';
import { startTestIssuer, type TestIssuer } from '../support/test-issuer.js';

/**
 * Attack suite, category "proxy": request targets with more than one meaning (dot segments and
 * their encodings, backslashes, `;`, empty segments, case), absolute-form request lines, header
 * spoofing, hop-by-hop abuse, malformed percent-encoding, and request smuggling.
 *
 * Every case goes over a raw socket with the exact bytes. The caller is usually an ADMIN (the worst
 * case: refusals come from the request hygiene, not from a missing role). For every refused request
 * Orthanc's own request log stays empty and the gateway keeps answering /healthz.
 */
let orthanc: TestOrthanc;
let issuer: TestIssuer;
let gateway: TestGateway;
const tokens = { admin: '', viewer: '' };
type Caller = keyof typeof tokens | 'anonymous';

/** The identity headers the gateway computes for the viewer (FORWARD_IDENTITY_HEADERS=true). */
const VIEWER_IDENTITY = { 'x-forwarded-user': 'viewer', 'x-forwarded-roles': 'pacs-viewer,default-roles-orthanc' };
/** Header names Orthanc may receive: the gateway's allowlist plus what the gateway sets itself. */
const UPSTREAM_HEADERS = new Set([
  'accept', 'accept-language', 'cache-control', 'content-length', 'content-type', 'host', 'if-match', 'if-modified-since',
  'if-none-match', 'if-range', 'if-unmodified-since', 'range', 'transfer-encoding', 'user-agent', 'connection',
  'authorization', 'forwarded', 'x-forwarded-user', 'x-forwarded-roles',
]);

const ERROR_CODE: Record<number, string> = { 400: 'bad_request', 401: 'unauthenticated', 403: 'forbidden', 404: 'not_found', 405: 'method_not_allowed' };

function authorization(caller: Caller): string[] {
  return caller === 'anonymous' ? [] : [`Authorization: Bearer ${tokens[caller]}`];
}

/** One request, exactly these bytes (UTF-8), `Connection: close`. */
function send(requestLine: string, caller: Caller, headers: string[] = []): Promise<SocketExchange> {
  const head = requestHead(requestLine, ['Host: gateway.test', ...authorization(caller), ...headers, 'Connection: close']);
  return socketExchange(gateway.url, Buffer.from(head, 'utf8'));
}

function only(exchange: SocketExchange): ParsedResponse {
  expect(exchange.responses).toHaveLength(1);
  return exchange.responses[0]!;
}

/** A refusal written by the gateway itself: its JSON error body, not Orthanc's. */
function expectGatewayError(response: ParsedResponse, status: number): void {
  expect(response.status).toBe(status);
  const body = JSON.parse(response.body) as Record<string, unknown>;
  expect(body).toMatchObject({ error: ERROR_CODE[status], requestId: expect.any(String) });
}

beforeAll(async () => {
  [orthanc, issuer] = await Promise.all([startOrthanc(), startTestIssuer()]);
  await uploadInstances(orthanc, makeSeries({ modality: 'CT', patientName: 'Proxy^Case', patientId: 'P-PROXY', instances: 1, rows: 16, columns: 16 }).files);
  gateway = await startTestGateway({
    OIDC_ISSUER: issuer.issuer,
    ORTHANC_URL: orthanc.url,
    ORTHANC_USERNAME: orthanc.username,
    ORTHANC_PASSWORD: orthanc.password,
    FORWARD_IDENTITY_HEADERS: 'true', // the riskier setting: Orthanc trusts X-Forwarded-User
    ...NO_RATE_LIMITS,
  });
  tokens.admin = await issuer.token('admin', ['pacs-admin', 'pacs-uploader', 'pacs-viewer']);
  tokens.viewer = await issuer.token('viewer', ['pacs-viewer']);
}, 60_000);

afterAll(async () => {
  await gateway?.close();
  await Promise.all([orthanc?.stop(), issuer?.stop()]);
});

beforeEach(async () => {
  await orthanc.clearSeenRequests();
});

it('control: the admin reaches Orthanc through the clean spelling of the same paths', async () => {
  expect(only(await send('GET /pacs-admin/system HTTP/1.1', 'admin')).status).toBe(200);
  expect(only(await send('GET /pacs/dicom-web/studies HTTP/1.1', 'viewer')).status).toBe(200);
  expect(await orthanc.seenRequests()).toEqual(['GET /system', 'GET /dicom-web/studies']);
});

/** [name, request line, caller, status the gateway answers]. */
const refusedTargets: Array<[string, string, Caller, number]> = [
  // dot segments, plain and in every encoding
  ['../ from /pacs into /pacs-admin', 'GET /pacs/dicom-web/../../pacs-admin/system HTTP/1.1', 'viewer', 400],
  ['../ inside /pacs-admin', 'POST /pacs-admin/app/../tools/execute-script HTTP/1.1', 'admin', 400],
  ['./ inside /pacs-admin', 'POST /pacs-admin/./tools/execute-script HTTP/1.1', 'admin', 400],
  ['trailing /..', 'POST /pacs-admin/tools/execute-script/.. HTTP/1.1', 'admin', 400],
  ['trailing /.', 'POST /pacs-admin/tools/execute-script/. HTTP/1.1', 'admin', 400],
  ['%2e%2e', 'GET /pacs/dicom-web/%2e%2e/%2e%2e/pacs-admin/system HTTP/1.1', 'viewer', 400],
  ['%2E%2E', 'GET /pacs/dicom-web/%2E%2E/%2E%2E/pacs-admin/system HTTP/1.1', 'viewer', 400],
  ['.%2e', 'GET /pacs/dicom-web/.%2e/.%2e/pacs-admin/system HTTP/1.1', 'viewer', 400],
  ['%2e.', 'GET /pacs/dicom-web/%2e./%2e./pacs-admin/system HTTP/1.1', 'viewer', 400],
  ['double-encoded %252e', 'GET /pacs/dicom-web/%252e%252e/%252e%252e/pacs-admin/system HTTP/1.1', 'viewer', 400],
  ['overlong UTF-8 %c0%ae', 'GET /pacs/dicom-web/%c0%ae%c0%ae/%c0%ae%c0%ae/pacs-admin/system HTTP/1.1', 'viewer', 400],
  ['overlong UTF-8 %e0%80%ae', 'GET /pacs/dicom-web/%e0%80%ae%e0%80%ae/pacs-admin/system HTTP/1.1', 'viewer', 400],
  ['IIS %u002e', 'GET /pacs/dicom-web/%u002e%u002e/pacs-admin/system HTTP/1.1', 'viewer', 400],
  ['%%32%65 (decodes to %2e once)', 'GET /pacs/dicom-web/%%32%65%%32%65/pacs-admin/system HTTP/1.1', 'viewer', 400],
  ['Tomcat ..;/', 'GET /pacs/dicom-web/..;/..;/pacs-admin/system HTTP/1.1', 'viewer', 400],
  // backslashes
  ['backslash traversal', 'GET /pacs/dicom-web\\..\\..\\pacs-admin\\system HTTP/1.1', 'viewer', 400],
  ['backslash separators', 'POST /pacs-admin\\tools\\execute-script HTTP/1.1', 'admin', 400],
  ['%5c traversal', 'GET /pacs/dicom-web/%5c..%5c..%5cpacs-admin%5csystem HTTP/1.1', 'viewer', 400],
  ['%5C separator', 'POST /pacs-admin/tools%5Cexecute-script HTTP/1.1', 'admin', 400],
  // ; parameters
  [';param in the prefix', 'GET /pacs-admin;x=y/system HTTP/1.1', 'admin', 400],
  [';jsessionid on a DICOMweb path', 'GET /pacs/dicom-web/studies;jsessionid=x HTTP/1.1', 'viewer', 400],
  ['%3b', 'GET /pacs/%3bdicom-web/studies HTTP/1.1', 'viewer', 400],
  // slashes
  ['leading //', 'GET //pacs-admin/system HTTP/1.1', 'admin', 400],
  ['leading ///', 'GET ///pacs-admin/system HTTP/1.1', 'admin', 400],
  ['// inside /pacs-admin', 'POST /pacs-admin//tools/execute-script HTTP/1.1', 'admin', 400],
  ['// inside /pacs', 'GET /pacs//dicom-web/studies HTTP/1.1', 'viewer', 400],
  ['encoded slash %2f', 'POST /pacs-admin/tools%2fexecute-script HTTP/1.1', 'admin', 400],
  ['encoded slash in the prefix %2F', 'GET /pacs-admin%2Fsystem HTTP/1.1', 'admin', 400],
  // NUL, control characters, fragments
  ['%00 after a blocked name', 'POST /pacs-admin/tools/execute-script%00 HTTP/1.1', 'admin', 400],
  ['%00 in the query', 'GET /pacs/dicom-web/studies?PatientID=%00 HTTP/1.1', 'viewer', 400],
  ['%0d%0a in the path', 'GET /pacs-admin/system%0d%0aX-Injected:%201 HTTP/1.1', 'admin', 400],
  ['%09 (tab)', 'POST /pacs-admin/tools/execute-script%09 HTTP/1.1', 'admin', 400],
  ['# fragment sent in the target', 'GET /pacs-admin/system#x HTTP/1.1', 'admin', 400],
  // case and encoded spellings of the prefixes: never the admin prefix, never a bypass
  ['/PACS-ADMIN', 'GET /PACS-ADMIN/system HTTP/1.1', 'admin', 404],
  ['/Pacs-Admin + blocked endpoint', 'POST /Pacs-Admin/tools/execute-script HTTP/1.1', 'admin', 404],
  ['/pacs-ADMIN', 'GET /pacs-ADMIN/system HTTP/1.1', 'admin', 404],
  ['/%50ACS-ADMIN', 'GET /%50ACS-ADMIN/system HTTP/1.1', 'admin', 404],
  ['/PACS', 'GET /PACS/dicom-web/studies HTTP/1.1', 'viewer', 404],
  ['/Pacs', 'GET /Pacs/dicom-web/studies HTTP/1.1', 'viewer', 404],
  ['/pacs/DICOM-WEB', 'GET /pacs/DICOM-WEB/studies HTTP/1.1', 'viewer', 404],
  ['/pacs/dicom-web/STUDIES', 'GET /pacs/dicom-web/STUDIES HTTP/1.1', 'viewer', 404],
  ['/pacs/ with an Orthanc REST path', 'GET /pacs/system HTTP/1.1', 'admin', 404],
  ['/pacs/ with the Orthanc Explorer', 'GET /pacs/app/explorer.html HTTP/1.1', 'admin', 404],
  ['/pacs/ with Orthanc tools', 'POST /pacs/tools/execute-script HTTP/1.1', 'admin', 404],
  ['%2d-encoded /pacs-admin still needs the admin role', 'GET /pacs%2dadmin/system HTTP/1.1', 'viewer', 403],
  ['%70-encoded /pacs-admin still blocks execute-script', 'POST /%70acs-admin/tools/execute-script HTTP/1.1', 'admin', 403],
  ['%65-encoded execute-script is still blocked', 'POST /pacs-admin/tools/%65xecute-script HTTP/1.1', 'admin', 403],
  ['upper-case TOOLS/EXECUTE-SCRIPT is still blocked', 'POST /pacs-admin/TOOLS/EXECUTE-SCRIPT HTTP/1.1', 'admin', 403],
  ['trailing slash on a blocked endpoint', 'POST /pacs-admin/tools/execute-script/ HTTP/1.1', 'admin', 403],
  ['query on a blocked endpoint', 'POST /pacs-admin/tools/shutdown?now=1 HTTP/1.1', 'admin', 403],
  ['GET on a blocked endpoint', 'GET /pacs-admin/tools/reset HTTP/1.1', 'admin', 403],
  // absolute-form and other request-target forms
  ['absolute-form to another host', 'GET http://evil.example/pacs-admin/system HTTP/1.1', 'admin', 400],
  ['absolute-form https', 'GET https://evil.example/pacs/dicom-web/studies HTTP/1.1', 'viewer', 400],
  ['absolute-form naming the gateway itself', 'GET http://gateway.test/pacs-admin/system HTTP/1.1', 'admin', 400],
  ['asterisk-form', 'OPTIONS * HTTP/1.1', 'admin', 400],
  // malformed percent-encoding (crashed http-proxy-middleware < 0.x in decodeURIComponent)
  ['truncated UTF-8 %E0%A4%A', 'GET /pacs/dicom-web/studies/%E0%A4%A HTTP/1.1', 'viewer', 400],
  ['lone %', 'GET /pacs-admin/% HTTP/1.1', 'admin', 400],
  ['trailing %', 'GET /pacs-admin/system% HTTP/1.1', 'admin', 400],
  ['%zz', 'GET /pacs-admin/%zz HTTP/1.1', 'admin', 400],
  ['%2 followed by a letter', 'GET /pacs-admin/%2g HTTP/1.1', 'admin', 400],
  ['invalid UTF-8 %ff', 'GET /pacs-admin/%ff HTTP/1.1', 'admin', 400],
  ['lone surrogate %ed%a0%80', 'GET /pacs-admin/%ed%a0%80 HTTP/1.1', 'admin', 400],
  // identity headers never authenticate anybody
  ['no token, X-Forwarded-User: admin', 'GET /pacs-admin/system HTTP/1.1', 'anonymous', 401],
];
const spoofedIdentity = ['X-Forwarded-User: admin', 'X-Forwarded-Roles: pacs-admin', 'X-Remote-User: admin', 'X-Roles: pacs-admin', 'Remote-User: admin'];

describe('request targets with more than one meaning are refused before Orthanc', () => {
  it.each(refusedTargets)('%s: %s as %s → %i', async (_name, requestLine, caller, status) => {
    const response = only(await send(requestLine, caller, caller === 'anonymous' ? spoofedIdentity : []));
    expectGatewayError(response, status);
    await expectOrthancSawNothing(orthanc);
    await expectGatewayAlive(gateway.url);
  });
});

/** Bytes the HTTP parser itself refuses: Node answers 400 and closes the connection. */
const unparsableTargets: Array<[string, string]> = [
  ['raw space in the target', 'GET /pacs-admin/sys tem HTTP/1.1'],
  ['raw UTF-8 fullwidth solidus', 'GET /pacs-admin\uff0fsystem HTTP/1.1'],
  ['raw UTF-8 fullwidth dots', 'GET /pacs/dicom-web/\uff0e\uff0e/\uff0e\uff0e/pacs-admin/system HTTP/1.1'],
  ['raw control character', 'GET /pacs-admin/\u0001system HTTP/1.1'],
  ['raw DEL', 'GET /pacs-admin/\u007fsystem HTTP/1.1'],
  ['HTTP/2 preface', 'PRI * HTTP/2.0'],
  ['unknown HTTP version', 'GET /pacs-admin/system HTTP/1.10'],
  ['lower-case method', 'get /pacs-admin/system HTTP/1.1'],
  ['target without a leading slash', 'GET pacs-admin/system HTTP/1.1'],
];

describe('request lines the HTTP parser refuses', () => {
  it.each(unparsableTargets)('%s → 400, connection closed', async (_name, requestLine) => {
    const exchange = await send(requestLine, 'admin');
    expect(only(exchange).status).toBe(400);
    expect(exchange.closedByServer).toBe(true);
    await expectOrthancSawNothing(orthanc);
    await expectGatewayAlive(gateway.url);
  });

  it('CONNECT is not served: the connection is closed without an answer', async () => {
    const exchange = await send(`CONNECT 127.0.0.1:${orthanc.port} HTTP/1.1`, 'admin');
    expect(exchange.responses).toEqual([]);
    expect(exchange.closedByServer).toBe(true);
    await expectOrthancSawNothing(orthanc);
    await expectGatewayAlive(gateway.url);
  });

  it('an HTTP/0.9 request line carries no credentials: 401, never forwarded', async () => {
    const exchange = await socketExchange(gateway.url, 'GET /pacs-admin/system\r\n\r\n');
    expectGatewayError(only(exchange), 401);
    await expectOrthancSawNothing(orthanc);
    await expectGatewayAlive(gateway.url);
  });
});

/**
 * Spellings that are not an Orthanc endpoint for Orthanc either: the gateway passes them on in their
 * one canonical form and Orthanc answers 404 (Orthanc 1.10 neither trims nor Unicode-normalizes).
 * [name, request line, what Orthanc logged (decoded)].
 */
const harmlessVariants: Array<[string, string, string]> = [
  ['trailing encoded space', 'POST /pacs-admin/tools/execute-script%20 HTTP/1.1', 'POST /tools/execute-script '],
  ['encoded fullwidth dots', 'POST /pacs-admin/%EF%BC%8E%EF%BC%8E/tools/execute-script HTTP/1.1', 'POST /\uff0e\uff0e/tools/execute-script'],
  ['Unicode hyphen', 'POST /pacs-admin/tools/execute%E2%80%90script HTTP/1.1', 'POST /tools/execute\u2010script'],
];

describe('look-alike spellings reach Orthanc only as themselves', () => {
  it.each(harmlessVariants)('%s: %s → Orthanc 404 for %s', async (_name, requestLine, logged) => {
    const response = only(await send(requestLine, 'admin', ['Content-Length: 0']));
    expect(response.status).toBe(404);
    expect(await orthanc.seenRequests()).toEqual([logged]);
    await expectGatewayAlive(gateway.url);
  });

  it.each([
    ['truncated UTF-8 in a QIDO value', 'GET /pacs/dicom-web/studies?PatientID=%E0%A4%A HTTP/1.1'],
    ['lone % in a QIDO query', 'GET /pacs/dicom-web/studies?% HTTP/1.1'],
    ['%zz in a QIDO value', 'GET /pacs/dicom-web/studies?PatientID=%zz HTTP/1.1'],
    ['lone % in a WADO-URI value', 'GET /pacs/wado?requestType=WADO&studyUID=% HTTP/1.1'],
  ])('malformed query %s: %s is refused (400) before policy, nothing reaches Orthanc, the gateway survives', async (_name, requestLine) => {
    expectGatewayError(only(await send(requestLine, 'viewer')), 400);
    await expectOrthancSawNothing(orthanc);
    await expectGatewayAlive(gateway.url);
  });
});

function expectCleanUpstreamHeaders(headers: Record<string, string>, identity: Record<string, string>): void {
  for (const name of Object.keys(headers)) expect(UPSTREAM_HEADERS.has(name) ? name : `unexpected header ${name}`).toBe(name);
  expect(headers['authorization']).toBe(orthancBasicAuth(orthanc));
  expect(headers['forwarded']).toBe(`host=${new URL(gateway.config.publicUrl).host};proto=http`);
  for (const [name, value] of Object.entries(identity)) expect(headers[name]).toBe(value);
  expect(headers['host']).toBe(`127.0.0.1:${orthanc.port}`);
}

/** Headers a client adds to a legitimate viewer request, hoping Orthanc or the gateway trusts them. */
const spoofedHeaders: Array<[string, string[]]> = [
  ['X-Forwarded-User / X-Forwarded-Roles', ['X-Forwarded-User: admin', 'X-Forwarded-Roles: pacs-admin']],
  ['the identity headers twice, other case', ['x-FORWARDED-user: admin', 'X-Forwarded-User: root', 'X-FORWARDED-ROLES: pacs-admin']],
  ['underscore spellings', ['X_Forwarded_User: admin', 'X_Forwarded_Roles: pacs-admin']],
  ['X-Remote-User / Remote-User / X-User / X-Roles', ['X-Remote-User: admin', 'Remote-User: admin', 'X-User: admin', 'X-Roles: pacs-admin']],
  ['X-Original-URL / X-Rewrite-URL', ['X-Original-URL: /tools/execute-script', 'X-Rewrite-URL: /tools/shutdown']],
  ['Forwarded', ['Forwarded: for=10.0.0.1;host=evil.example;proto=https']],
  ['X-Forwarded-Host / -Proto / -Port / -For / -Prefix', ['X-Forwarded-Host: evil.example', 'X-Forwarded-Proto: https', 'X-Forwarded-Port: 443', 'X-Forwarded-For: 10.0.0.1', 'X-Forwarded-Prefix: /evil']],
  ['X-Real-IP / X-Client-IP / True-Client-IP', ['X-Real-IP: 127.0.0.1', 'X-Client-IP: 127.0.0.1', 'True-Client-IP: 127.0.0.1']],
  ['Cookie and Proxy-Authorization', ['Cookie: session=stolen', `Proxy-Authorization: ${'Basic '}${Buffer.from('orthanc:orthanc').toString('base64')}`]],
];

describe('header spoofing: nothing a client sends is trusted or forwarded', () => {
  it.each(spoofedHeaders)('%s', async (_name, headers) => {
    const response = only(await send('GET /pacs/dicom-web/studies HTTP/1.1', 'viewer', headers));
    expect(response.status).toBe(200);
    expect(response.body).not.toContain('evil.example');
    expect(response.body).toContain(`${gateway.config.publicUrl}/pacs/dicom-web/studies/`);
    const seen = await orthanc.seenHeaders();
    expect(seen.map((entry) => [entry.request, entry.username])).toEqual([['GET /dicom-web/studies', orthanc.username]]);
    expectCleanUpstreamHeaders(seen[0]!.headers, VIEWER_IDENTITY);
  });

  it.each(['X-HTTP-Method-Override: PUT', 'X-Method-Override: PUT', 'X-HTTP-Method: DELETE', 'x-http-method-override: delete'])(
    'a method override header (%s) is refused with 400 before policy: nothing reaches Orthanc',
    async (header) => {
      expectGatewayError(only(await send('GET /pacs-admin/modalities/evil HTTP/1.1', 'admin', [header])), 400);
      expectGatewayError(only(await send('GET /pacs/dicom-web/studies HTTP/1.1', 'viewer', [header])), 400);
      await expectOrthancSawNothing(orthanc);
    },
  );

  it('X-Original-URL on an ops route does not reach Orthanc', async () => {
    const response = only(await send('GET /healthz HTTP/1.1', 'anonymous', ['X-Original-URL: /pacs-admin/system', 'X-Rewrite-URL: /pacs-admin/system']));
    expect([response.status, response.body]).toEqual([200, '{"status":"ok"}']);
    await expectOrthancSawNothing(orthanc);
  });

  it('the Orthanc service credential sent as Basic authenticates nobody', async () => {
    const exchange = await send('GET /pacs-admin/system HTTP/1.1', 'anonymous', [`Authorization: ${orthancBasicAuth(orthanc)}`]);
    expectGatewayError(only(exchange), 401);
    expect(only(exchange).headers['www-authenticate']).toBe('Bearer realm="orthanc-oidc-gateway"');
    await expectOrthancSawNothing(orthanc);
  });

  it.each([
    ['Host', ['Host: evil.example']],
    ['X-Forwarded-Host / Forwarded', ['X-Forwarded-Host: evil.example', 'X-Forwarded-Proto: https', 'Forwarded: host=evil.example;proto=https']],
  ])('%s never moves a redirect off PUBLIC_URL', async (_name, headers) => {
    const head = requestHead('GET /pacs-admin HTTP/1.1', [...headers.some((h) => h.startsWith('Host:')) ? [] : ['Host: gateway.test'], ...headers, `Authorization: Bearer ${tokens.admin}`, 'Connection: close']);
    const explorer = only(await socketExchange(gateway.url, head));
    expect(explorer.status).toBe(301);
    expect(explorer.headers['location']).toBe(`${gateway.config.publicUrl}/pacs-admin/app/explorer.html`);

    const loginHead = requestHead('GET /auth/login?returnTo=/ HTTP/1.1', [...headers.some((h) => h.startsWith('Host:')) ? [] : ['Host: gateway.test'], ...headers, 'Connection: close']);
    const login = only(await socketExchange(gateway.url, loginHead));
    expect(login.status).toBe(302);
    expect(new URL(login.headers['location'] ?? '').searchParams.get('redirect_uri')).toBe(`${gateway.config.publicUrl}/auth/callback`);
  });
});

/** Hop-by-hop abuse: naming the gateway's own headers in Connection, upgrade tricks, proxy headers. */
const hopByHop: Array<[string, string[]]> = [
  ['Connection names Authorization', ['Connection: authorization']],
  ['Connection names Forwarded and the identity headers', ['Connection: forwarded, x-forwarded-user, x-forwarded-roles']],
  ['Connection names X-Forwarded-For and Host', ['Connection: x-forwarded-for, host', 'X-Forwarded-For: 10.0.0.1']],
  ['Connection names Content-Length', ['Connection: content-length']],
  ['Keep-Alive, TE, Trailer, Proxy-Connection', ['Keep-Alive: timeout=600, max=1000', 'TE: trailers', 'Trailer: X-Evil', 'Proxy-Connection: keep-alive']],
  ['Upgrade: h2c (h2c smuggling)', ['Connection: Upgrade, HTTP2-Settings', 'Upgrade: h2c', 'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA']],
  ['Upgrade: websocket', ['Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13']],
];

describe('hop-by-hop abuse', () => {
  it.each(hopByHop)('%s: answered as a plain request, the gateway still sets its own headers', async (_name, headers) => {
    const head = requestHead('GET /pacs/dicom-web/studies HTTP/1.1', ['Host: gateway.test', `Authorization: Bearer ${tokens.viewer}`, ...headers]);
    const exchange = await socketExchange(gateway.url, Buffer.from(head), { untilResponses: 1 });
    expect(exchange.responses.map((response) => response.status)).toEqual([200]);
    expect(exchange.raw).not.toMatch(/^HTTP\/1\.1 101/);
    const seen = await orthanc.seenHeaders();
    expect(seen.map((entry) => entry.request)).toEqual(['GET /dicom-web/studies']);
    expectCleanUpstreamHeaders(seen[0]!.headers, VIEWER_IDENTITY);
    for (const name of ['upgrade', 'http2-settings', 'keep-alive', 'te', 'trailer', 'proxy-connection', 'x-forwarded-for']) {
      expect(seen[0]!.headers[name]).toBeUndefined();
    }
  });
});

/**
 * Request smuggling: framing a front proxy and the gateway could read differently. Each request is
 * an admin's STOW-RS upload (the one route that streams chunked bodies to Orthanc) with a second
 * request hidden in its body. Node's strict parser (never --insecure-http-parser) answers 400 (413
 * for an oversized chunk extension) and closes the connection: neither request reaches Orthanc.
 */
function smuggle(framing: string[], body: string): string {
  const hidden = `GET /pacs-admin/system HTTP/1.1\r\nHost: gateway.test\r\nAuthorization: Bearer ${tokens.admin}\r\n\r\n`;
  const head = requestHead('POST /pacs/dicom-web/studies HTTP/1.1', [
    'Host: gateway.test',
    `Authorization: Bearer ${tokens.admin}`,
    'Content-Type: multipart/related; type="application/dicom"; boundary=b',
    ...framing,
  ]);
  return `${head}${body}${hidden}`;
}

const smuggling: Array<[string, () => string, number]> = [
  ['CL.TE: Content-Length then Transfer-Encoding', () => smuggle(['Content-Length: 6', 'Transfer-Encoding: chunked'], '0\r\n\r\n'), 400],
  ['TE.CL: Transfer-Encoding then Content-Length', () => smuggle(['Transfer-Encoding: chunked', 'Content-Length: 200'], '0\r\n\r\n'), 400],
  ['two Content-Length headers, different values', () => smuggle(['Content-Length: 0', 'Content-Length: 190'], ''), 400],
  ['two Content-Length headers, same value', () => smuggle(['Content-Length: 2', 'Content-Length: 2'], '{}'), 400],
  ['Content-Length list "2, 2"', () => smuggle(['Content-Length: 2, 2'], '{}'), 400],
  ['Content-Length: +2', () => smuggle(['Content-Length: +2'], '{}'), 400],
  ['Content-Length: -1', () => smuggle(['Content-Length: -1'], ''), 400],
  ['Content-Length: 0x2', () => smuggle(['Content-Length: 0x2'], '{}'), 400],
  ['Transfer-Encoding: chunked, identity', () => smuggle(['Transfer-Encoding: chunked, identity'], '0\r\n\r\n'), 400],
  ['Transfer-Encoding: identity', () => smuggle(['Transfer-Encoding: identity'], 'abcd'), 400],
  ['Transfer-Encoding: xchunked', () => smuggle(['Transfer-Encoding: xchunked'], '0\r\n\r\n'), 400],
  ['two Transfer-Encoding headers', () => smuggle(['Transfer-Encoding: chunked', 'Transfer-Encoding: identity'], '0\r\n\r\n'), 400],
  ['Transfer-Encoding twice chunked', () => smuggle(['Transfer-Encoding: chunked', 'Transfer-Encoding: chunked'], '0\r\n\r\n'), 400],
  ['space before the colon', () => smuggle(['Transfer-Encoding : chunked'], '0\r\n\r\n'), 400],
  ['obs-fold Transfer-Encoding', () => smuggle(['Transfer-Encoding:', ' chunked'], '0\r\n\r\n'), 400],
  ['obs-fold of another header', () => smuggle(['X-Note: a', ' b', 'Content-Length: 2'], '{}'), 400],
  ['vertical tab before chunked', () => smuggle(['Transfer-Encoding:\u000bchunked'], '0\r\n\r\n'), 400],
  ['invalid chunk size', () => smuggle(['Transfer-Encoding: chunked'], 'zz\r\n{}\r\n0\r\n\r\n'), 400],
  ['chunk size overflowing 64 bits', () => smuggle(['Transfer-Encoding: chunked'], 'ffffffffffffffffff\r\n{}\r\n'), 400],
  ['chunk lines ending in bare LF', () => smuggle(['Transfer-Encoding: chunked'], '2\n{}\n0\n\n'), 400],
  ['20 KB chunk extension', () => smuggle(['Transfer-Encoding: chunked'], `2;${'x'.repeat(20_000)}\r\n{}\r\n0\r\n\r\n`), 413],
  ['NUL in a header value', () => smuggle(['X-Note: a\u0000b', 'Content-Length: 2'], '{}'), 400],
  ['space inside a header name', () => smuggle(['Content Length: 2'], '{}'), 400],
  ['bare LF line endings', () => smuggle(['Content-Length: 2'], '{}').replace(/\r\n/g, '\n'), 400],
  ['bare CR line endings', () => `GET /pacs-admin/system HTTP/1.1\rHost: gateway.test\rAuthorization: Bearer ${tokens.admin}\r\r\n`, 400],
  ['no Host header (HTTP/1.1)', () => `GET /pacs-admin/system HTTP/1.1\r\nAuthorization: Bearer ${tokens.admin}\r\n\r\n`, 400],
];

describe('request smuggling', () => {
  it.each(smuggling)('%s → connection closed after one refusal, nothing forwarded', async (_name, bytes, status) => {
    const exchange = await socketExchange(gateway.url, bytes());
    expect(exchange.responses.map((response) => response.status)).toEqual([status]);
    expect(exchange.closedByServer).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 100)); // anything forwarded would be logged by now
    await expectOrthancSawNothing(orthanc);
    await expectGatewayAlive(gateway.url);
  });
});

describe('response hygiene', () => {
  it.each([
    ['a proxied Orthanc answer', 'GET /pacs-admin/system HTTP/1.1', 'admin', 200],
    ['a proxied Orthanc 404', 'GET /pacs-admin/patients/unknown HTTP/1.1', 'admin', 404],
    ['a gateway refusal', 'GET /pacs/dicom-web/%2e%2e/x HTTP/1.1', 'viewer', 400],
    ['a missing credential', 'GET /pacs-admin/system HTTP/1.1', 'anonymous', 401],
  ] as Array<[string, string, Caller, number]>)('%s carries the security headers and nothing of Orthanc\'s authentication', async (_name, requestLine, caller, status) => {
    const response = only(await send(requestLine, caller));
    expect(response.status).toBe(status);
    expect(response.headers['x-powered-by']).toBeUndefined();
    expect(response.headers['server']).toBeUndefined();
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(response.headers['cross-origin-opener-policy']).toBe('same-origin');
    expect(response.headers['set-cookie']).toBeUndefined();
    expect(response.headers['www-authenticate'] ?? '').not.toMatch(/basic/i);
    expect(response.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('the viewer files (OHIF_DIST) cannot be left', () => {
  let viewerGateway: TestGateway;

  beforeAll(async () => {
    const root = mkdtempSync(join(tmpdir(), 'viewer-traversal-'));
    writeFileSync(join(root, 'secret.txt'), 'TOP-SECRET outside the viewer');
    mkdirSync(join(root, 'dist'));
    writeFileSync(join(root, 'dist', 'index.html'), '<!doctype html><title>viewer</title>');
    writeFileSync(join(root, 'dist', '.env'), 'TOP-SECRET dotfile');
    viewerGateway = await startTestGateway({
      OIDC_ISSUER: issuer.issuer,
      ORTHANC_URL: orthanc.url,
      ORTHANC_USERNAME: orthanc.username,
      ORTHANC_PASSWORD: orthanc.password,
      OHIF_DIST: join(root, 'dist'),
      VIEWER_ACCESS: 'public',
      ...NO_RATE_LIMITS,
    });
  });

  afterAll(async () => {
    await viewerGateway?.close();
  });

  it.each([
    ['control: a viewer file', '/index.html', 200],
    ['../', '/../secret.txt', 400],
    ['%2e%2e/', '/%2e%2e/secret.txt', 400],
    ['..%2f', '/..%2fsecret.txt', 400],
    ['%2e%2e%5c', '/%2e%2e%5csecret.txt', 400],
    ['..\\', '/..\\secret.txt', 400],
    ['overlong %c0%ae%c0%ae/', '/%c0%ae%c0%ae/secret.txt', 400],
    ['a dotfile in the viewer folder', '/.env', 404],
    ['an encoded dotfile name', '/%2eenv', 400],
  ])('%s: GET %s → %i', async (_name, target, status) => {
    const head = requestHead(`GET ${target} HTTP/1.1`, ['Host: gateway.test', 'Accept: */*', 'Connection: close']);
    const response = only(await socketExchange(viewerGateway.url, head));
    expect(response.status).toBe(status);
    expect(response.body).not.toContain('TOP-SECRET');
    if (status !== 200) expectGatewayError(response, status);
    await expectOrthancSawNothing(orthanc);
    await expectGatewayAlive(viewerGateway.url);
  });
});
