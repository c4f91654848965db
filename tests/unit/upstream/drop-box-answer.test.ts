import { describe, expect, it } from '@jest/globals';
import { dropBoxStowAnswer } from '../../../src/upstream/drop-box-answer.js';

const uid = (value: string) => ({ vr: 'UI', Value: [value] });
const url = (value: string) => ({ vr: 'UR', Value: [value] });

/** Orthanc's STOW-RS answer: the study's URL, each stored instance with its URL, failures with a reason. */
const ORTHANC_ANSWER = {
  '00081190': url('http://orthanc:8042/dicom-web/studies/1.2.3'),
  '00081198': { vr: 'SQ', Value: [{ '00081150': uid('1.2.840.10008.5.1.4.1.1.2'), '00081155': uid('1.2.3.9'), '00081197': { vr: 'US', Value: [272] } }] },
  '00081199': {
    vr: 'SQ',
    Value: [
      { '00081150': uid('1.2.840.10008.5.1.4.1.1.2'), '00081155': uid('1.2.3.4.1'), '00081190': url('http://orthanc:8042/dicom-web/studies/1.2.3/series/1.2.3.4/instances/1.2.3.4.1') },
      { '00081150': uid('1.2.840.10008.5.1.4.1.1.2'), '00081155': uid('1.2.3.4.2'), '00081190': url('http://orthanc:8042/dicom-web/studies/1.2.3/series/1.2.3.4/instances/1.2.3.4.2') },
    ],
  },
  '00081196': { vr: 'US', Value: [45056] },
};

describe('dropBoxStowAnswer: what a drop-box holder sees of the STOW-RS answer', () => {
  it('keeps the SOP class and instance UIDs of stored instances and the failures with their reason; drops every URL and anything else', () => {
    expect(dropBoxStowAnswer(ORTHANC_ANSWER)).toEqual({
      '00081199': {
        vr: 'SQ',
        Value: [
          { '00081150': uid('1.2.840.10008.5.1.4.1.1.2'), '00081155': uid('1.2.3.4.1') },
          { '00081150': uid('1.2.840.10008.5.1.4.1.1.2'), '00081155': uid('1.2.3.4.2') },
        ],
      },
      '00081198': { vr: 'SQ', Value: [{ '00081150': uid('1.2.840.10008.5.1.4.1.1.2'), '00081155': uid('1.2.3.9'), '00081197': { vr: 'US', Value: [272] } }] },
    });
  });

  it.each([
    ['an empty answer', {}, {}],
    ['a sequence without items', { '00081199': { vr: 'SQ' } }, {}],
    ['items that are not objects', { '00081199': { vr: 'SQ', Value: ['x', null, [1]] } }, { '00081199': { vr: 'SQ', Value: [] } }],
    ['an item with an unexpected tag only', { '00081199': { vr: 'SQ', Value: [{ '00100010': { vr: 'PN', Value: [{ Alphabetic: 'Other^Patient' }] } }] } }, { '00081199': { vr: 'SQ', Value: [{}] } }],
  ])('%s', (_name, answer, expected) => {
    expect(dropBoxStowAnswer(answer)).toEqual(expected);
  });

  it.each([null, [], 'text', 42])('refuses %j (not a DICOM JSON object)', (answer) => {
    expect(() => dropBoxStowAnswer(answer)).toThrow(TypeError);
  });
});
