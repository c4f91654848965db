import { describe, expect, it } from '@jest/globals';
import { safeReturnTo } from '../../../src/auth/return-to.js';

const PUBLIC_URL = 'https://pacs.example.org';

describe('safeReturnTo', () => {
  it.each([
    ['/', '/'],
    ['/viewer?StudyInstanceUIDs=1.2.3', '/viewer?StudyInstanceUIDs=1.2.3'],
    ['/pacs/dicom-web/studies?PatientID=x#top', '/pacs/dicom-web/studies?PatientID=x#top'],
    ['/a/../b', '/b'],
  ])('keeps the same-origin path %s', (value, expected) => {
    expect(safeReturnTo(value, PUBLIC_URL)).toBe(expected);
  });

  // Payloads from open-redirect cheat sheets: every one must stay on the gateway's origin.
  it.each([
    [undefined],
    [''],
    ['https://evil.example/'],
    ['http://evil.example'],
    ['//evil.example'],
    ['///evil.example'],
    ['/\\evil.example'],
    ['\\\\evil.example'],
    ['/\t/evil.example'],
    ['/\n/evil.example'],
    ['/%0d%0aLocation:%20https://evil.example'.replace('%0d%0a', '\r\n')],
    ['javascript:alert(1)'],
    ['data:text/html,<script>alert(1)</script>'],
    ['evil.example'],
    ['https:evil.example'],
    ['https://pacs.example.org@evil.example'],
    ['/' + 'a'.repeat(3000)],
  ])('falls back to / for %j', (value) => {
    expect(safeReturnTo(value, PUBLIC_URL)).toBe('/');
  });

  it('never returns something a browser would read as another host', () => {
    for (const value of ['/%2F%2Fevil.example', '/%5Cevil.example', '/.//evil.example', '/./\\evil.example']) {
      const result = safeReturnTo(value, PUBLIC_URL);
      expect(new URL(result, PUBLIC_URL).origin).toBe(PUBLIC_URL);
      expect(result.startsWith('//')).toBe(false);
    }
  });
});
