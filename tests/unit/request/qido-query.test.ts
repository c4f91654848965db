import { describe, expect, it } from '@jest/globals';
import { filteredSearchQuery, splitIncludeFields } from '../../../src/request/qido-query.js';
import { queryOf, serialized } from '../../support/routes.js';

it.each([
  ['', ''],
  ['PatientID=P1&limit=25', 'PatientID=P1&limit=25'],
  ['includefield=00081030', 'includefield=00081030'],
  ['includefield=00081030,00080060&limit=25', 'includefield=00081030&includefield=00080060&limit=25'],
  ['includefield=00081030%2C00080060', 'includefield=00081030&includefield=00080060'],
  ['includefield=a,b&includefield=c', 'includefield=a&includefield=b&includefield=c'],
  ['includefield=a,,b', 'includefield=a&includefield=b'],
  ['PatientName=Doe%5EJ*&includefield=all', 'PatientName=Doe^J*&includefield=all'],
])('%j → %j', (query, expected) => {
  expect(serialized(splitIncludeFields(queryOf(query)))).toBe(expected);
});

describe('filteredSearchQuery', () => {
  const TAG = '00080080';

  it.each([
    ['', undefined, { query: `includefield=${TAG}`, offset: 0, limit: undefined }],
    ['limit=10&offset=20&PatientName=D*', undefined, { query: `PatientName=D*&includefield=${TAG}`, offset: 20, limit: 10 }],
    ['limit=0', undefined, { query: `includefield=${TAG}`, offset: 0, limit: undefined }],
    ['', 'HA-', { query: `includefield=${TAG}&PatientID=HA-*`, offset: 0, limit: undefined }],
    ['PatientID=HA-1', 'HA-', { query: `PatientID=HA-1&includefield=${TAG}`, offset: 0, limit: undefined }],
    ['00100020=HA-1', 'HA-', { query: `00100020=HA-1&includefield=${TAG}`, offset: 0, limit: undefined }],
    ['', 'H*', { query: `includefield=${TAG}`, offset: 0, limit: undefined }], // wildcards are not pushed upstream
    ['', 'H\\A', { query: `includefield=${TAG}`, offset: 0, limit: undefined }],
  ])('%j (prefix %j) → %j', (query, prefix, expected) => {
    const filtered = filteredSearchQuery(queryOf(query), TAG, prefix);
    expect({ ...filtered, query: serialized(filtered.query) }).toEqual(expected);
  });

  it.each(['limit=abc', 'offset=-1', 'limit=1.5', 'limit=1&limit=2', 'offset=9999999999'])('refuses %j with a 400', (query) => {
    expect(() => filteredSearchQuery(queryOf(query), TAG)).toThrow(expect.objectContaining({ status: 400 }));
  });
});
