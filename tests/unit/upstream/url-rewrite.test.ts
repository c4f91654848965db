/**
 * Absolute URLs Orthanc writes (RetrieveURL, BulkDataURI, Location) move under
 * PUBLIC_URL/pacs/dicom-web/, streaming, whatever the chunk boundaries.
 */
import { describe, expect, it } from '@jest/globals';
import { isRewritableContentType, rewriteLocation, urlRewriterFor, type UrlRewrite } from '../../../src/upstream/url-rewrite.js';

const REWRITE: UrlRewrite = { from: 'https://pacs.example.org/dicom-web/', to: 'https://pacs.example.org/pacs/dicom-web/' };
const { from: F, to: T } = REWRITE;

/** Feeds `chunks` through a fresh rewriter and returns everything it emitted, decoded. */
function rewriteChunks(chunks: Buffer[], rewrite: UrlRewrite = REWRITE): string {
  const rewriter = urlRewriterFor(rewrite)();
  return Buffer.concat([...chunks.map((chunk) => rewriter.write(chunk)), rewriter.end()]).toString('utf8');
}

/** Splits `bytes` at the given byte offsets (ascending). */
function splitAt(bytes: Buffer, cuts: number[]): Buffer[] {
  const bounds = [0, ...cuts, bytes.length];
  return bounds.slice(1).map((end, index) => bytes.subarray(bounds[index], end));
}

const replaceAll = (text: string, rewrite: UrlRewrite = REWRITE) => text.split(rewrite.from).join(rewrite.to);

/** Occurrences at the start, the end, adjacent, inside JSON, with multi-byte text and near misses. */
const DOCUMENT =
  `${F}studies/1.2${F}${F}series/3 "Patient": "Ëlodie Ünal 测试 ✓" ` +
  `{"00081190":{"vr":"UR","Value":["${F}studies/1.2.3/series/4.5"]},"BulkDataURI":"${F}studies/1/series/2/instances/3/bulk/7fe00010"} ` +
  `near misses: https://pacs.example.org/dicom-we/ https://pacs.example.org/dicom-web https://pacs.example.org/pacs/dicom-web/ ` +
  `é${F}测${F}`;

const SHORT = `é${F}${F}测 https://pacs.example.org/dicom-we ${F}x`;

describe('urlRewriterFor, chunk by chunk', () => {
  it('the test documents contain what they claim to', () => {
    expect(DOCUMENT.split(F)).toHaveLength(8); // seven occurrences
    expect(DOCUMENT.startsWith(F) && DOCUMENT.endsWith(F)).toBe(true);
    expect(DOCUMENT).toContain(F + F);
    expect(Buffer.byteLength(DOCUMENT)).toBeGreaterThan(DOCUMENT.length);
  });

  it.each([
    { name: 'empty body', input: '', expected: '' },
    { name: 'no occurrence', input: '{"a":"b"} é 测', expected: '{"a":"b"} é 测' },
    { name: 'exactly the URL', input: F, expected: T },
    { name: 'URL at the start', input: `${F}studies`, expected: `${T}studies` },
    { name: 'URL at the end', input: `see ${F}`, expected: `see ${T}` },
    { name: 'adjacent URLs', input: `${F}${F}${F}`, expected: `${T}${T}${T}` },
    { name: 'prefix of the URL at the very end is kept', input: 'x https://pacs.example.org/dicom-we', expected: 'x https://pacs.example.org/dicom-we' },
    { name: 'URL without its trailing slash is left alone', input: 'https://pacs.example.org/dicom-web', expected: 'https://pacs.example.org/dicom-web' },
    { name: 'already rewritten URLs are left alone', input: T, expected: T },
    { name: 'other hosts are left alone', input: 'http://orthanc:8042/dicom-web/studies', expected: 'http://orthanc:8042/dicom-web/studies' },
    { name: 'case differs: left alone', input: 'HTTPS://PACS.EXAMPLE.ORG/DICOM-WEB/', expected: 'HTTPS://PACS.EXAMPLE.ORG/DICOM-WEB/' },
    {
      name: 'a metadata document',
      input: `[{"00081190":{"vr":"UR","Value":["${F}studies/1.2"]}}]`,
      expected: `[{"00081190":{"vr":"UR","Value":["${T}studies/1.2"]}}]`,
    },
  ])('whole input: $name', ({ input, expected }) => {
    expect(rewriteChunks([Buffer.from(input)])).toBe(expected);
  });

  it('handles the reference document in one chunk', () => {
    expect(rewriteChunks([Buffer.from(DOCUMENT)])).toBe(replaceAll(DOCUMENT));
    expect(replaceAll(DOCUMENT)).not.toContain(F);
  });

  it('handles the reference document split in two at every byte position', () => {
    const bytes = Buffer.from(DOCUMENT);
    const expected = replaceAll(DOCUMENT);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const actual = rewriteChunks(splitAt(bytes, [cut]));
      if (actual !== expected) throw new Error(`split at byte ${cut}: got ${JSON.stringify(actual)}`);
    }
  });

  it('handles the reference document one byte at a time', () => {
    const bytes = Buffer.from(DOCUMENT);
    const chunks = Array.from({ length: bytes.length }, (_, index) => bytes.subarray(index, index + 1));
    expect(rewriteChunks(chunks)).toBe(replaceAll(DOCUMENT));
  });

  it('handles a short document split in three at every pair of positions', () => {
    const bytes = Buffer.from(SHORT);
    const expected = replaceAll(SHORT);
    for (let first = 0; first <= bytes.length; first++) {
      for (let second = first; second <= bytes.length; second++) {
        const actual = rewriteChunks(splitAt(bytes, [first, second]));
        if (actual !== expected) throw new Error(`split at bytes ${first}, ${second}: got ${JSON.stringify(actual)}`);
      }
    }
  });

  it.each([
    { name: 'é split between its two bytes', text: 'aé b', char: 'é' },
    { name: '测 split after its first byte', text: 'a测b', char: '测' },
    { name: '测 split after its second byte', text: 'a测b', char: '测', offset: 2 },
    { name: '😀 (4 bytes) split in the middle', text: 'a😀b', char: '😀', offset: 2 },
  ])('multi-byte characters survive: $name', ({ text, char, offset = 1 }) => {
    const input = `${text}${F}${text}`;
    const bytes = Buffer.from(input);
    const at = bytes.indexOf(Buffer.from(char)) + offset;
    expect(rewriteChunks(splitAt(bytes, [at]))).toBe(`${text}${T}${text}`);
  });

  it('works with a replacement that contains the search text', () => {
    const rewrite = { from: '/dicom-web/', to: '/pacs/dicom-web/' };
    const input = '/dicom-web//dicom-web/x/dicom-web/';
    const bytes = Buffer.from(input);
    for (let cut = 0; cut <= bytes.length; cut++) {
      expect(rewriteChunks(splitAt(bytes, [cut]), rewrite)).toBe('/pacs/dicom-web//pacs/dicom-web/x/pacs/dicom-web/');
    }
  });

  it('works with a search text that overlaps itself', () => {
    const rewrite = { from: 'aab', to: 'X' };
    const input = 'aaab aab aaaab ab aa';
    const bytes = Buffer.from(input);
    for (let cut = 0; cut <= bytes.length; cut++) {
      expect(rewriteChunks(splitAt(bytes, [cut]), rewrite)).toBe(replaceAll(input, rewrite));
    }
  });

  it('streams: text that cannot start a match is emitted before the body ends', () => {
    const rewriter = urlRewriterFor(REWRITE)();
    const first = rewriter.write(Buffer.from(`${'x'.repeat(1000)}${F}studies https://pacs.exa`)).toString('utf8');
    expect(first).toBe(`${'x'.repeat(1000)}${T}studies `);
    const rest = Buffer.concat([rewriter.write(Buffer.from('mple.org/dicom-web/ end')), rewriter.end()]).toString('utf8');
    expect(first + rest).toBe(`${'x'.repeat(1000)}${T}studies ${T} end`);
  });
});

describe('urlRewriterFor (the bytes, without a stream)', () => {
  /** Every chunk's output and the end's, concatenated. */
  const rewriteBytes = (chunks: Buffer[], rewrite: UrlRewrite = REWRITE) => {
    const rewriter = urlRewriterFor(rewrite)();
    return Buffer.concat([...chunks.map((chunk) => rewriter.write(chunk)), rewriter.end()]);
  };

  it('returns a chunk without occurrence or held-back tail as it is (no copy)', () => {
    const rewriter = urlRewriterFor(REWRITE)();
    const chunk = Buffer.from('{"a":"b"} é 测');
    expect(rewriter.write(chunk)).toBe(chunk);
    expect(rewriter.end()).toHaveLength(0);
  });

  it('holds back a tail that may begin the URL, and gives it back at the end when it did not', () => {
    const rewriter = urlRewriterFor(REWRITE)();
    expect(rewriter.write(Buffer.from('x https://pacs.exa')).toString()).toBe('x ');
    expect(rewriter.end().toString()).toBe('https://pacs.exa');
    expect(rewriter.end()).toHaveLength(0);
  });

  it('each body gets its own rewriter: a tail held back by one does not leak into the next', () => {
    const next = urlRewriterFor(REWRITE);
    const first = next();
    first.write(Buffer.from('https://pacs.exa'));
    expect(next().write(Buffer.from('mple.org/dicom-web/')).toString()).toBe('mple.org/dicom-web/');
  });

  it('passes bytes that are not UTF-8 through unchanged, around and between occurrences', () => {
    const bytes = Buffer.concat([Buffer.from([0xff, 0xc3]), Buffer.from(F), Buffer.from([0xe6, 0xb5]), Buffer.from(F), Buffer.from([0x80])]);
    const expected = Buffer.concat([Buffer.from([0xff, 0xc3]), Buffer.from(T), Buffer.from([0xe6, 0xb5]), Buffer.from(T), Buffer.from([0x80])]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      expect(rewriteBytes(splitAt(bytes, [cut])).equals(expected)).toBe(true);
    }
  });

  it('rewrites a replacement with non-ASCII characters (a PUBLIC_URL path) byte for byte', () => {
    const rewrite = { from: F, to: 'https://pacs.example.org/bildarchiv-ü/pacs/dicom-web/' };
    const bytes = Buffer.from(`é${F}测${F}`);
    for (let cut = 0; cut <= bytes.length; cut++) {
      expect(rewriteBytes(splitAt(bytes, [cut]), rewrite).toString()).toBe(`é${rewrite.to}测${rewrite.to}`);
    }
  });
});

describe('rewriteLocation', () => {
  const PUBLIC_ORIGIN = 'https://pacs.example.org';
  const PACS = { upstreamPath: '/dicom-web/studies', publicPrefixUrl: `${PUBLIC_ORIGIN}/pacs`, publicOrigin: PUBLIC_ORIGIN };
  const ADMIN = { upstreamPath: '/', publicPrefixUrl: `${PUBLIC_ORIGIN}/pacs-admin`, publicOrigin: PUBLIC_ORIGIN };
  const ADMIN_DEEP = { ...ADMIN, upstreamPath: '/studies/abc/modify' };

  it.each([
    // DICOMweb: Orthanc writes the public origin (from `Forwarded`) with the path /dicom-web/.
    { route: 'pacs', context: PACS, location: `${F}studies/1.2.3`, expected: `${T}studies/1.2.3` },
    { route: 'pacs', context: PACS, location: F, expected: T },
    { route: 'pacs', context: PACS, location: `${F}studies?limit=1&offset=2`, expected: `${T}studies?limit=1&offset=2` },
    { route: 'pacs', context: PACS, location: '/dicom-web/studies/1.2.3', expected: `${T}studies/1.2.3` },
    { route: 'pacs', context: PACS, location: 'studies/1.2.3', expected: `${T}studies/1.2.3` },
    // Admin: Orthanc answers `/` with a relative `app/explorer.html`.
    { route: 'admin', context: ADMIN, location: 'app/explorer.html', expected: `${PUBLIC_ORIGIN}/pacs-admin/app/explorer.html` },
    { route: 'admin', context: ADMIN, location: '/app/explorer.html', expected: `${PUBLIC_ORIGIN}/pacs-admin/app/explorer.html` },
    { route: 'admin', context: ADMIN, location: '/instances/6b9e19d9-62094390-5f9ddb01-4a191ae7-9766b715', expected: `${PUBLIC_ORIGIN}/pacs-admin/instances/6b9e19d9-62094390-5f9ddb01-4a191ae7-9766b715` },
    { route: 'admin', context: ADMIN, location: `${PUBLIC_ORIGIN}/system`, expected: `${PUBLIC_ORIGIN}/pacs-admin/system` },
    { route: 'admin', context: ADMIN_DEEP, location: '../def', expected: `${PUBLIC_ORIGIN}/pacs-admin/studies/def` },
    { route: 'admin', context: ADMIN_DEEP, location: 'jobs?x=1', expected: `${PUBLIC_ORIGIN}/pacs-admin/studies/abc/jobs?x=1` },
    // Elsewhere: left alone.
    { route: 'pacs', context: PACS, location: '//evil.example/x', expected: '//evil.example/x' },
    { route: 'pacs', context: PACS, location: 'https://evil.example/dicom-web/', expected: 'https://evil.example/dicom-web/' },
    { route: 'pacs', context: PACS, location: 'https://pacs.example.org.evil.example/dicom-web/', expected: 'https://pacs.example.org.evil.example/dicom-web/' },
    { route: 'pacs', context: PACS, location: 'http://pacs.example.org/dicom-web/', expected: 'http://pacs.example.org/dicom-web/' },
    { route: 'admin', context: ADMIN, location: 'https://sso.example.org/realms/orthanc', expected: 'https://sso.example.org/realms/orthanc' },
    { route: 'admin', context: ADMIN, location: 'mailto:admin@example.org', expected: 'mailto:admin@example.org' },
    { route: 'admin', context: ADMIN, location: 'http://[broken', expected: 'http://[broken' },
  ])('$route: $location → $expected', ({ context, location, expected }) => {
    expect(rewriteLocation(location, context)).toBe(expected);
  });
});

describe('isRewritableContentType', () => {
  it.each([
    { contentType: 'application/dicom+json', expected: true },
    { contentType: 'application/json', expected: true },
    { contentType: 'application/json; charset=utf-8', expected: true },
    { contentType: 'APPLICATION/DICOM+JSON', expected: true },
    { contentType: 'application/dicom+xml', expected: true },
    { contentType: 'text/xml', expected: true },
    { contentType: 'multipart/related; type="application/dicom+xml"; boundary=abc', expected: true },
    { contentType: 'application/dicom', expected: false },
    { contentType: 'multipart/related; type="application/dicom"; boundary=0123456789abcdef', expected: false },
    { contentType: 'multipart/related; type="application/octet-stream"', expected: false },
    { contentType: 'multipart/related; type="image/jpeg"', expected: false },
    { contentType: 'application/octet-stream', expected: false },
    { contentType: 'image/jpeg', expected: false },
    { contentType: 'image/png', expected: false },
    { contentType: 'application/zip', expected: false },
    { contentType: 'text/html', expected: false },
    { contentType: 'text/plain', expected: false },
    { contentType: '', expected: false },
    { contentType: undefined, expected: false },
  ])('$contentType → $expected', ({ contentType, expected }) => {
    expect(isRewritableContentType(contentType)).toBe(expected);
  });
});
