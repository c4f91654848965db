/** upstream-pool.ts's pure parts: undici's raw headers read as node:http reads them, and which failures happened on a reused connection. */
import { describe, expect, it } from '@jest/globals';
import type { Config } from '../../../src/config/config.js';
import { createUpstreamPool, failedOnReusedConnection, incomingHeaders } from '../../../src/upstream/upstream-pool.js';

const raw = (...pairs: Array<[string, string]>) => pairs.flatMap(([name, value]) => [Buffer.from(name, 'latin1'), Buffer.from(value, 'latin1')]);

describe('incomingHeaders', () => {
  it.each<[string, Array<[string, string]>, Record<string, string | string[]>]>([
    ['lower-cases names', [['Content-Type', 'application/dicom+json'], ['Keep-Alive', 'timeout=1']], { 'content-type': 'application/dicom+json', 'keep-alive': 'timeout=1' }],
    ['joins a repeated list header with ", "', [['Vary', 'Accept'], ['vary', 'Origin']], { vary: 'Accept, Origin' }],
    ['keeps the first of a repeated single-value header', [['Content-Length', '2'], ['Content-Length', '9'], ['Location', '/a'], ['Location', '/b']], { 'content-length': '2', location: '/a' }],
    ['makes set-cookie a list, even of one', [['Set-Cookie', 'a=1'], ['Set-Cookie', 'b=2'], ['X-One', 'x']], { 'set-cookie': ['a=1', 'b=2'], 'x-one': 'x' }],
    ['lower-cases known and unknown names in any case', [['CONTENT-TYPE', 'a'], ['x-Orthanc-CUSTOM', 'b'], ['eTaG', 'c']], { 'content-type': 'a', 'x-orthanc-custom': 'b', etag: 'c' }],
    ['reads values as latin1, byte for byte', [['Content-Disposition', 'attachment; filename="\u00e9.dcm"']], { 'content-disposition': 'attachment; filename="\u00e9.dcm"' }],
  ])('%s', (_case, pairs, expected) => {
    expect(incomingHeaders(raw(...pairs))).toEqual(expected);
  });
});

describe('failedOnReusedConnection', () => {
  const error = (fields: Record<string, unknown>) => Object.assign(new Error('failed'), fields) as NodeJS.ErrnoException;

  it.each<[string, NodeJS.ErrnoException, boolean]>([
    ['"other side closed" on a connection that had read an answer', error({ code: 'UND_ERR_SOCKET', socket: { bytesRead: 1249 } }), true],
    ['"other side closed" on a new connection', error({ code: 'UND_ERR_SOCKET', socket: { bytesRead: 0 } }), false],
    ['an error without socket details or mark (a refused connect)', error({ code: 'ECONNREFUSED' }), false],
  ])('%s', (_case, failure, reused) => {
    expect(failedOnReusedConnection(failure)).toBe(reused);
  });
});

describe('createUpstreamPool', () => {
  const orthanc = (url: string) => ({ url, timeoutMs: 1000 }) as Config['orthanc'];

  it('pools a plain-HTTP Orthanc, and leaves an https:// one to node:http (whose errors name a refused client certificate)', async () => {
    const pool = createUpstreamPool(orthanc('http://orthanc:8042'));
    expect(pool).toBeDefined();
    await pool?.destroy();
    expect(createUpstreamPool(orthanc('https://orthanc:8042'))).toBeUndefined();
  });
});
