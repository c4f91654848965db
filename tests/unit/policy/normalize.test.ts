/**
 * normalizeTarget: a request target is accepted only when it has exactly one meaning, and what is
 * accepted comes out canonical (decoded segments, canonically re-encoded path, query untouched).
 */
import { describe, expect, it } from '@jest/globals';
import { encodeSegment, normalizeTarget } from '../../../src/policy/normalize.js';

const MAX_TARGET_LENGTH = 8192;

describe('normalizeTarget: accepted targets are canonicalized', () => {
  it.each([
    { target: '/', path: '/', segments: [''], query: '' },
    { target: '/pacs/dicom-web/studies', path: '/pacs/dicom-web/studies', segments: ['pacs', 'dicom-web', 'studies'], query: '' },
    {
      target: '/pacs/dicom-web/studies?PatientID=123&limit=10',
      path: '/pacs/dicom-web/studies',
      segments: ['pacs', 'dicom-web', 'studies'],
      query: 'PatientID=123&limit=10',
    },
    { target: '/pacs/dicom-web/studies?', path: '/pacs/dicom-web/studies', segments: ['pacs', 'dicom-web', 'studies'], query: '' },
    // The query is not the path: it is passed on verbatim, escapes and all.
    { target: '/pacs/wado?requestType=WADO&q=%2e%2e%2F', path: '/pacs/wado', segments: ['pacs', 'wado'], query: 'requestType=WADO&q=%2e%2e%2F' },
    { target: '/pacs/x?a=1&a=2&b', path: '/pacs/x', segments: ['pacs', 'x'], query: 'a=1&a=2&b' },
    { target: '/pacs-admin/', path: '/pacs-admin/', segments: ['pacs-admin', ''], query: '' },
    { target: '/pacs/dicom-web/', path: '/pacs/dicom-web/', segments: ['pacs', 'dicom-web', ''], query: '' },
    { target: '/pacs/a%20b', path: '/pacs/a%20b', segments: ['pacs', 'a b'], query: '' },
    { target: '/pacs/%41%42c', path: '/pacs/ABc', segments: ['pacs', 'ABc'], query: '' },
    { target: '/pacs/%7e%5f%2D', path: '/pacs/~_-', segments: ['pacs', '~_-'], query: '' },
    { target: '/pacs/%3a%40%2B%2C%3D', path: '/pacs/:@+,=', segments: ['pacs', ':@+,='], query: '' },
    { target: "/pacs/a:b@c!$&'()*+,=", path: "/pacs/a:b@c!$&'()*+,=", segments: ['pacs', "a:b@c!$&'()*+,="], query: '' },
    { target: '/pacs/%c3%a9', path: '/pacs/%C3%A9', segments: ['pacs', 'é'], query: '' },
    { target: '/pacs/%E6%B5%8B', path: '/pacs/%E6%B5%8B', segments: ['pacs', '测'], query: '' },
    // Three dots are a name, not a dot segment.
    { target: '/pacs/...', path: '/pacs/...', segments: ['pacs', '...'], query: '' },
    { target: '/pacs/a.b/c..d', path: '/pacs/a.b/c..d', segments: ['pacs', 'a.b', 'c..d'], query: '' },
    {
      target: '/pacs/dicom-web/studies/1.2.840.10008.1/series/1.2.3/instances/1.2.3.4/frames/1,2,3',
      path: '/pacs/dicom-web/studies/1.2.840.10008.1/series/1.2.3/instances/1.2.3.4/frames/1,2,3',
      segments: ['pacs', 'dicom-web', 'studies', '1.2.840.10008.1', 'series', '1.2.3', 'instances', '1.2.3.4', 'frames', '1,2,3'],
      query: '',
    },
    // %2D is "-": the canonical path is what the blocklist sees and what Orthanc receives.
    { target: '/pacs-admin/tools/execute%2Dscript', path: '/pacs-admin/tools/execute-script', segments: ['pacs-admin', 'tools', 'execute-script'], query: '' },
  ])('$target → $path ? $query', ({ target, path, segments, query }) => {
    expect(normalizeTarget(target)).toEqual({ ok: true, path, segments, query });
  });

  it('accepts a target of exactly the maximum length', () => {
    const target = `/pacs/${'a'.repeat(MAX_TARGET_LENGTH - '/pacs/'.length)}`;
    expect(target).toHaveLength(MAX_TARGET_LENGTH);
    expect(normalizeTarget(target).ok).toBe(true);
  });

  it.each(['/pacs/%41', '/pacs/A', '/pacs/%61%3A', '/PACS/a%3a%20'])('the canonical path of %s normalizes to itself', (target) => {
    const first = normalizeTarget(target);
    if (!first.ok) throw new Error(`expected ${target} to be accepted: ${first.reason}`);
    expect(normalizeTarget(first.path)).toEqual(first);
  });
});

describe('normalizeTarget: rejected targets', () => {
  it.each([
    // dot segments
    { label: 'dot-dot segment', target: '/pacs/../x', reason: /dot segment/ },
    { label: 'dot segment', target: '/pacs/./x', reason: /dot segment/ },
    { label: 'trailing dot-dot', target: '/pacs/x/..', reason: /dot segment/ },
    { label: 'trailing dot', target: '/pacs/x/.', reason: /dot segment/ },
    { label: 'leading dot-dot', target: '/../pacs', reason: /dot segment/ },
    // encoded dots, slashes, backslashes
    { label: 'encoded dot', target: '/pacs/%2e/x', reason: /%2e/ },
    { label: 'encoded dot-dot (upper case)', target: '/pacs/%2E%2E/x', reason: /%2E/ },
    { label: 'half-encoded dot-dot', target: '/pacs/.%2e/x', reason: /%2e/ },
    { label: 'encoded dot inside a UID', target: '/pacs/dicom-web/studies/1%2E2', reason: /%2E/ },
    { label: 'encoded slash', target: '/pacs/a%2fb', reason: /%2f/ },
    { label: 'encoded slash (upper case)', target: '/pacs/a%2Fb', reason: /%2F/ },
    { label: 'encoded backslash', target: '/pacs/a%5cb', reason: /%5c/ },
    { label: 'encoded backslash (upper case)', target: '/pacs/a%5Cb', reason: /%5C/ },
    { label: 'raw backslash', target: '/pacs/a\\b', reason: /origin-form/ },
    { label: 'raw backslash dot-dot', target: '/pacs\\..\\x', reason: /origin-form/ },
    // path parameters
    { label: 'jsessionid parameter', target: '/pacs/x;jsessionid=x', reason: /origin-form/ },
    { label: 'encoded semicolon', target: '/pacs/x%3bjsessionid=x', reason: /%3b/ },
    // double encoding and percent signs
    { label: 'double-encoded dot', target: '/pacs/%252e%252e/x', reason: /%25/ },
    { label: 'encoded percent', target: '/pacs/%25', reason: /%25/ },
    { label: 'double-encoded NUL', target: '/pacs/%2500', reason: /%25/ },
    // NUL and control characters
    { label: 'NUL in path', target: '/pacs/x%00', reason: /%00/ },
    { label: 'NUL in query', target: '/pacs/x?a=%00', reason: /NUL/ },
    { label: 'NUL as the whole query', target: '/pacs/x?%00', reason: /NUL/ },
    { label: 'encoded newline', target: '/pacs/x%0aSet-Cookie:a', reason: /%0a/ },
    { label: 'encoded carriage return', target: '/pacs/x%0D', reason: /%0D/ },
    { label: 'encoded DEL', target: '/pacs/x%7f', reason: /%7f/ },
    { label: 'raw tab', target: '/pacs/x\ty', reason: /origin-form/ },
    // malformed percent-encoding
    { label: 'non-hex escape', target: '/pacs/%zz', reason: /malformed/ },
    { label: 'one hex digit', target: '/pacs/%e', reason: /malformed/ },
    { label: 'one hex digit before a slash', target: '/pacs/%e/x', reason: /malformed/ },
    { label: 'lone percent at the end', target: '/pacs/x%', reason: /malformed/ },
    { label: 'lone percent segment', target: '/pacs/%/x', reason: /malformed/ },
    { label: 'invalid UTF-8 byte', target: '/pacs/%ff', reason: /malformed/ },
    { label: 'truncated UTF-8 sequence', target: '/pacs/%C3', reason: /malformed/ },
    { label: 'overlong UTF-8 dot-dot', target: '/pacs/%c0%ae%c0%ae/x', reason: /malformed/ },
    { label: 'overlong UTF-8 slash', target: '/pacs/a%c0%afb', reason: /malformed/ },
    { label: 'UTF-8 surrogate', target: '/pacs/%ed%a0%80', reason: /malformed/ },
    // empty segments
    { label: 'double slash', target: '/pacs//x', reason: /empty path segment/ },
    { label: 'double slash at the root', target: '//', reason: /empty path segment/ },
    { label: 'protocol-relative form', target: '//evil.example/pacs/x', reason: /empty path segment/ },
    { label: 'trailing double slash', target: '/pacs/x//', reason: /empty path segment/ },
    // not origin-form
    { label: 'absolute-form', target: 'http://evil/pacs/x', reason: /origin-form/ },
    { label: 'asterisk-form', target: '*', reason: /origin-form/ },
    { label: 'empty target', target: '', reason: /origin-form/ },
    { label: 'relative path', target: 'pacs/x', reason: /origin-form/ },
    { label: 'fragment', target: '/pacs/x#frag', reason: /origin-form/ },
    { label: 'raw space', target: '/pacs/a b', reason: /origin-form/ },
    { label: 'non-ASCII (é)', target: '/pacs/é', reason: /origin-form/ },
    { label: 'non-ASCII (测)', target: '/pacs/测', reason: /origin-form/ },
    { label: 'fullwidth solidus', target: '/pacs/a／b', reason: /origin-form/ },
    // tokens in the URL
    { label: 'access_token first in query', target: '/pacs/dicom-web/studies?access_token=eyJ', reason: /access token/ },
    { label: 'access_token later in query', target: '/pacs/dicom-web/studies?limit=1&access_token=eyJ', reason: /access token/ },
    { label: 'ACCESS_TOKEN in upper case', target: '/pacs/wado?ACCESS_TOKEN=eyJ', reason: /access token/ },
  ])('$label: $target', ({ target, reason }) => {
    const result = normalizeTarget(target);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });

  it.each([
    { label: 'path one character too long', target: `/pacs/${'a'.repeat(MAX_TARGET_LENGTH - '/pacs/'.length + 1)}` },
    { label: 'query making the target too long', target: `/pacs/x?q=${'a'.repeat(MAX_TARGET_LENGTH)}` },
  ])('overlong target: $label', ({ target }) => {
    expect(target.length).toBeGreaterThan(MAX_TARGET_LENGTH);
    expect(normalizeTarget(target)).toEqual({ ok: false, reason: expect.stringMatching(/too long/) });
  });

  it.each(['/pacs/x?my_access_token=1', '/pacs/x?access_tokens=1', '/pacs/x?token=1'])(
    'a query parameter that merely resembles access_token is kept: %s',
    (target) => {
      expect(normalizeTarget(target).ok).toBe(true);
    },
  );
});

describe('encodeSegment', () => {
  const kept = "ABCXYZabcxyz0189-._~!$&'()*+,=:@";

  it('leaves unreserved characters and the sub-delimiters Orthanc paths carry as they are', () => {
    for (const character of kept) expect([character, encodeSegment(character)]).toEqual([character, character]);
    expect(encodeSegment(kept)).toBe(kept);
  });

  it.each([
    ['a b', 'a%20b'],
    ['a/b', 'a%2Fb'],
    ['100%', '100%25'],
    ['a?b#c', 'a%3Fb%23c'],
    ['é', '%C3%A9'],
    ["x:y@z$'()", "x:y@z$'()"],
    ['', ''],
  ])('percent-encodes what is not kept: %s → %s', (segment, encoded) => {
    expect(encodeSegment(segment)).toBe(encoded);
    expect(decodeURIComponent(encodeSegment(segment))).toBe(segment);
  });
});
