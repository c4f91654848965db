/**
 * The query parser reads a query string exactly as Orthanc 1.10 does (split on "&", name and value
 * URL-decoded, "+" a space, order and repeats kept) or refuses it; the serializer writes what
 * Orthanc reads back as the same list.
 */
import { describe, expect, it } from '@jest/globals';
import { onlyValue, parseQuery, serializeQuery, valuesOf } from '../../../src/canonical/query.js';

describe('parseQuery: accepted', () => {
  it.each([
    ['', []],
    ['a=1', [{ name: 'a', value: '1' }]],
    ['a=1&b=2', [{ name: 'a', value: '1' }, { name: 'b', value: '2' }]],
    ['expand', [{ name: 'expand', value: '' }]],
    ['expand=', [{ name: 'expand', value: '' }]],
    ['a=1&a=2', [{ name: 'a', value: '1' }, { name: 'a', value: '2' }]],
    ['&&a=1&', [{ name: 'a', value: '1' }]],
    ['PatientName=Doe%5EJ*', [{ name: 'PatientName', value: 'Doe^J*' }]],
    ['PatientName=Doe+Jane', [{ name: 'PatientName', value: 'Doe Jane' }]],
    ['PatientName=Doe%2BJane', [{ name: 'PatientName', value: 'Doe+Jane' }]],
    ['includefield=00081030%2C00080060', [{ name: 'includefield', value: '00081030,00080060' }]],
    ['a=b=c', [{ name: 'a', value: 'b=c' }]],
    ['a=%C3%A9', [{ name: 'a', value: 'é' }]],
    ['0020000D=1.2', [{ name: '0020000D', value: '1.2' }]],
    ['a.b_c-d=1', [{ name: 'a.b_c-d', value: '1' }]],
  ])('%j', (raw, expected) => {
    expect(parseQuery(raw)).toEqual({ ok: true, query: expected });
  });
});

describe('parseQuery: refused', () => {
  it.each([
    ['";" (a separator to some servers, not to Orthanc)', 'a=1;b=2', /";"/],
    ['";" in a value', 'studyUID=1.2;3', /";"/],
    ['a percent-encoded name', '%6Cimit=5000', /plain/],
    ['an encoded letter in a name', 'stud%79UID=1.2', /plain/],
    ['"+" in a name', 'a+b=1', /plain/],
    ['a name with a space escape', 'a%20b=1', /plain/],
    ['an empty name', '=1', /plain/],
    ['a bracketed name', 'a[]=1', /plain/],
    ['a lone %', 'studyUID=%', /malformed/],
    ['% followed by one hex digit', 'a=%4', /malformed/],
    ['% followed by non-hex (Orthanc decodes %zz into a byte)', 'a=%zz', /malformed/],
    ['an escape that is not UTF-8', 'a=%C3', /malformed/],
    ['an encoded NUL', 'a=%00', /NUL/],
  ])('%s: %j', (_label, raw, reason) => {
    const parsed = parseQuery(raw);
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.reason).toMatch(reason);
  });
});

describe('serializeQuery', () => {
  it.each([
    [[], ''],
    [[{ name: 'a', value: '1' }], 'a=1'],
    [[{ name: 'expand', value: '' }], 'expand'],
    // written as is: Orthanc 1.10 reads values undecoded, later versions decoded; both read these alike
    [[{ name: 'PatientName', value: 'Doe^J*' }], 'PatientName=Doe^J*'],
    [[{ name: 'contentType', value: 'application/dicom' }], 'contentType=application/dicom'],
    [[{ name: 'StudyInstanceUID', value: '1.2\\3.4' }], 'StudyInstanceUID=1.2\\3.4'],
    [[{ name: 'includefield', value: '00081030,00080060' }], 'includefield=00081030,00080060'],
    [[{ name: 'q', value: 'a=b' }], 'q=a=b'],
    // escaped: separators, what a decoding reader would change, spaces, non-ASCII
    [[{ name: 'q', value: 'a b+c&d;f%#' }], 'q=a%20b%2Bc%26d%3Bf%25%23'],
    [[{ name: 'PatientName', value: 'Müller' }], 'PatientName=M%C3%BCller'],
    [[{ name: 'a', value: '1' }, { name: 'a', value: '2' }], 'a=1&a=2'],
  ])('%j → %j', (query, expected) => {
    expect(serializeQuery(query)).toBe(expected);
  });

  it.each(['a=1&b=2', 'PatientName=Doe+Jane&x=%C3%A9', 'q=a%20b%2Bc%26d%3De%3Bf%25', 'expand&limit=5', 'includefield=a%2Cb'])(
    'what is serialized parses back to the same list: %j',
    (raw) => {
      const first = parseQuery(raw);
      if (!first.ok) throw new Error(first.reason);
      expect(parseQuery(serializeQuery(first.query))).toEqual(first);
    },
  );
});

describe('reading values', () => {
  const parsed = parseQuery('a=1&b=2&a=3');
  const query = parsed.ok ? parsed.query : [];
  it('valuesOf keeps every value in order', () => expect(valuesOf(query, 'a')).toEqual(['1', '3']));
  it('onlyValue is undefined for a repeated parameter', () => expect(onlyValue(query, 'a')).toBeUndefined());
  it('onlyValue reads a single one', () => expect(onlyValue(query, 'b')).toBe('2'));
  it('names are exact', () => expect(onlyValue(query, 'B')).toBeUndefined());
});
