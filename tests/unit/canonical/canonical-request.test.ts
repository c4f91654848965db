/**
 * The canonical request: method overrides refused, the request to Orthanc serialized from the
 * canonical value only; and a guard that keeps stages from reading the raw URL again.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { parseCanonicalRequest, upstreamTarget, withQuery } from '../../../src/canonical/canonical-request.js';
import { queryOf } from '../../support/routes.js';

const SEGMENTS = ['pacs-admin', 'patients'];

describe('parseCanonicalRequest', () => {
  it.each(['x-http-method-override', 'x-http-method', 'x-method-override'])('refuses the %s header, whatever its value', (header) => {
    const parsed = parseCanonicalRequest('GET', SEGMENTS, '', { [header]: 'DELETE' });
    expect(parsed).toEqual({ ok: false, reason: expect.stringContaining(header) });
    expect(parseCanonicalRequest('POST', SEGMENTS, '', { [header]: '' }).ok).toBe(false);
  });

  it('keeps the method, segments and the parsed query', () => {
    expect(parseCanonicalRequest('GET', SEGMENTS, 'expand&limit=5', { accept: 'application/json' })).toEqual({
      ok: true,
      request: { method: 'GET', segments: SEGMENTS, query: [{ name: 'expand', value: '' }, { name: 'limit', value: '5' }], hasBody: false },
    });
  });

  // The upstream request of a bodiless one is ended at once (proxy.ts) and only such a request may be retried (upstream-retry.ts).
  it.each([
    [{}, false],
    [{ 'content-length': '0' }, false],
    [{ 'content-length': '12' }, true],
    [{ 'transfer-encoding': 'chunked' }, true],
    [{ 'transfer-encoding': 'chunked', 'content-length': '0' }, true],
  ])('headers %j: hasBody %s', (headers, hasBody) => {
    expect(parseCanonicalRequest('POST', SEGMENTS, '', headers)).toMatchObject({ ok: true, request: { hasBody } });
  });

  it('passes on the query parser\'s refusal', () => {
    expect(parseCanonicalRequest('GET', SEGMENTS, 'a=1;b=2', {})).toMatchObject({ ok: false, reason: expect.stringContaining(';') });
  });
});

describe('upstreamTarget', () => {
  const request = { method: 'GET', segments: ['pacs', 'wado'], query: queryOf('requestType=WADO&studyUID=1.2&PatientName=Doe+J'), hasBody: false };

  it.each([
    [request, '/wado?requestType=WADO&studyUID=1.2&PatientName=Doe%20J'],
    [withQuery(request, []), '/wado'],
    [withQuery(request, queryOf('expand')), '/wado?expand'],
  ])('%j → %s', (value, expected) => {
    expect(upstreamTarget({ upstreamPath: '/wado' }, value)).toBe(expected);
  });

  it('withQuery leaves the original value untouched', () => {
    withQuery(request, []);
    expect(request.query).toHaveLength(3);
  });
});

/** Files under src/ allowed to read the client's URL: the browser-facing redirects, never the path to Orthanc. */
const RAW_URL_READERS = new Set(['pages/auth-routes.ts', 'respond/refusal.ts', 'request/classify.ts', 'request/canonical-host.ts']);
/** The one query parser, and the /auth routes (returnTo, the OIDC callback), which never reach Orthanc. */
const QUERY_PARSERS = new Set(['canonical/query.ts', 'pages/auth-routes.ts']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

const withoutLineComments = (text: string) => text.replace(/(^|\s)\/\/ .*$/gm, '');

describe('no stage reads the raw request URL', () => {
  const root = join(process.cwd(), 'src');
  const files = sourceFiles(root)
    .map((file) => ({ file: relative(root, file), text: withoutLineComments(readFileSync(file, 'utf8')) }))
    .filter(({ file }) => !file.startsWith('devidp/'));

  it('finds the sources', () => expect(files.length).toBeGreaterThan(50));

  it('req.originalUrl / req.url are read only by the classify stage and browser redirects', () => {
    const readers = files.filter(({ text }) => /\b(originalUrl|req\.url)\b/.test(text)).map(({ file }) => file);
    expect(readers.filter((file) => !RAW_URL_READERS.has(file))).toEqual([]);
  });

  it('no query string is parsed outside the canonical parser (new URLSearchParams(…), querystring)', () => {
    const parsers = files.filter(({ text }) => /new URLSearchParams\(|from 'node:querystring'|req\.query\b/.test(text)).map(({ file }) => file);
    expect(parsers.filter((file) => !QUERY_PARSERS.has(file))).toEqual([]);
  });
});
