import { expect, it } from '@jest/globals';
import { splitIncludeFields } from '../../src/http/qido-query.js';

it.each([
  ['', ''],
  ['PatientID=P1&limit=25', 'PatientID=P1&limit=25'],
  ['includefield=00081030', 'includefield=00081030'],
  ['includefield=00081030,00080060&limit=25', 'includefield=00081030&includefield=00080060&limit=25'],
  ['includefield=00081030%2C00080060', 'includefield=00081030&includefield=00080060'],
  ['IncludeField=a,b&includefield=c', 'IncludeField=a&IncludeField=b&includefield=c'],
  ['PatientName=Doe%5EJ*&includefield=all', 'PatientName=Doe%5EJ*&includefield=all'],
])('%j → %j', (query, expected) => {
  expect(splitIncludeFields(query)).toBe(expected);
});
