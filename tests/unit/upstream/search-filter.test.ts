/** The streaming QIDO filter: element splitting at any chunk boundary, paging, failing closed. */
import { describe, expect, it } from '@jest/globals';
import { Readable } from 'node:stream';
import { JsonArraySplitter } from '../../../src/upstream/json-array-splitter.js';
import type { SearchFilter } from '../../../src/respond/request-state.js';
import { createSearchFilterStream } from '../../../src/upstream/search-filter.js';
import { urlRewriterFor } from '../../../src/upstream/url-rewrite.js';

const dataset = (id: number, institution: string) => ({
  '00080080': { vr: 'LO', Value: [institution] },
  '0020000D': { vr: 'UI', Value: [`1.2.${id}`] },
  // Strings that look like structure must not confuse the splitter.
  '00081030': { vr: 'LO', Value: [`tricky } ] { [ , \\" \\\\ "quoted" é€😀 ${id}`] },
  '00091001': { vr: 'SQ', Value: [{ '00100010': { vr: 'PN', Value: [{ Alphabetic: 'Doe^J' }] } }, {}] },
});
const DATASETS = [dataset(1, 'A'), dataset(2, 'B'), dataset(3, 'A'), dataset(4, 'A'), dataset(5, 'B')];
const TEXT = `[\n  ${DATASETS.map((item) => JSON.stringify(item, null, 2)).join(' ,\n')}\n]\n`;
const keepA = (item: unknown) => (item as ReturnType<typeof dataset>)['00080080'].Value[0] === 'A';

/** Runs `input` through the filter in chunks of `chunkSize` bytes; resolves to the output text. */
async function run(input: string, filter: Partial<SearchFilter> = {}, chunkSize = 4096): Promise<string> {
  const bytes = Buffer.from(input);
  const chunks = Array.from({ length: Math.ceil(bytes.length / chunkSize) }, (_unused, index) => bytes.subarray(index * chunkSize, (index + 1) * chunkSize));
  const output: string[] = [];
  const stream = Readable.from(chunks).pipe(createSearchFilterStream({ keep: keepA, offset: 0, limit: undefined, ...filter }));
  for await (const chunk of stream) output.push(String(chunk));
  return output.join('');
}

const ids = (text: string) => (JSON.parse(text) as Array<ReturnType<typeof dataset>>).map((item) => item['0020000D'].Value[0]);

describe('createSearchFilterStream', () => {
  it('keeps only the allowed datasets, unchanged', async () => {
    const output = await run(TEXT);
    expect(JSON.parse(output)).toEqual(DATASETS.filter(keepA));
  });

  it('splits correctly whatever the chunk boundaries (every size from 1 byte)', async () => {
    for (const size of [1, 2, 3, 5, 7, 13, 64]) expect(ids(await run(TEXT, {}, size))).toEqual(['1.2.1', '1.2.3', '1.2.4']);
  });

  it.each([
    [{ offset: 1 }, ['1.2.3', '1.2.4']],
    [{ limit: 2 }, ['1.2.1', '1.2.3']],
    [{ offset: 1, limit: 1 }, ['1.2.3']],
    [{ offset: 3 }, []],
    [{ keep: () => false }, []],
    [{ keep: () => true, offset: 1, limit: 3 }, ['1.2.2', '1.2.3', '1.2.4']],
  ])('pages the kept list: %j', async (filter, expected) => {
    expect(ids(await run(TEXT, filter, 10))).toEqual(expected);
  });

  it('waits for an asynchronous keep (per-study lookups) and keeps Orthanc\'s order whatever order the answers come in', async () => {
    const slowFirst = (item: unknown) => {
      const id = Number((item as ReturnType<typeof dataset>)['0020000D'].Value[0]!.split('.')[2]);
      return new Promise<boolean>((resolve) => setTimeout(() => resolve(id !== 2), (6 - id) * 5));
    };
    for (const size of [7, 64, 4096]) expect(ids(await run(TEXT, { keep: slowFirst }, size))).toEqual(['1.2.1', '1.2.3', '1.2.4', '1.2.5']);
    expect(ids(await run(TEXT, { keep: slowFirst, offset: 1, limit: 2 }, 64))).toEqual(['1.2.3', '1.2.4']);
  });

  it('asks no more once the page is full', async () => {
    const asked: unknown[] = [];
    const counting = (item: unknown) => (asked.push(item), Promise.resolve(true));
    expect(ids(await run(TEXT, { keep: counting, limit: 1 }, 4096 * 4))).toEqual(['1.2.1']);
    expect(asked.length).toBeLessThanOrEqual(DATASETS.length);
    asked.length = 0;
    expect(ids(await run(TEXT, { keep: counting, limit: 1 }, 50))).toEqual(['1.2.1']);
    expect(asked.length).toBeLessThan(DATASETS.length);
  });

  it('fails the stream when an asynchronous keep fails (fail closed)', async () => {
    await expect(run(TEXT, { keep: () => Promise.reject(new Error('lookup failed')) })).rejects.toThrow('lookup failed');
  });

  it.each(['[]', ' [ ] ', '[\n]'])('passes an empty answer %j on as []', async (input) => {
    expect(await run(input)).toBe('[]');
  });

  it.each([
    ['not an array', '{"a":1}'],
    ['truncated', TEXT.slice(0, TEXT.length / 2)],
    ['a scalar element', '[1]'],
    ['a nested array element', '[[]]'],
    ['a missing comma', '[{} {}]'],
    ['a trailing comma', '[{},]'],
    ['text after the end', '[{}] x'],
    ['a malformed element', '[{"a":}]'],
    ['an empty input', ''],
  ])('fails on %s', async (_name, input) => {
    await expect(run(input, { keep: () => true })).rejects.toThrow(SyntaxError);
  });
});

describe('createSearchFilterStream with the URL rewrite in the same stage', () => {
  const from = 'http://orthanc.invalid/dicom-web/';
  const to = 'https://pacs.example.org/pacs/dicom-web/';
  const withUrl = (id: number, institution: string) => ({ ...dataset(id, institution), '00081190': { vr: 'UR', Value: [`${from}studies/1.2.${id}`] } });
  const input = `[${[withUrl(1, 'A'), withUrl(2, 'B'), withUrl(3, 'A')].map((item) => JSON.stringify(item, null, 1)).join(',')}]`;

  it('passes kept datasets on as Orthanc wrote them, only the URLs moved, whatever the chunk boundaries', async () => {
    const expected = `[${[withUrl(1, 'A'), withUrl(3, 'A')].map((item) => JSON.stringify(item, null, 1).split(from).join(to)).join(',')}]`;
    for (const size of [1, 3, 17, 4096]) {
      const bytes = Buffer.from(input);
      const chunks = Array.from({ length: Math.ceil(bytes.length / size) }, (_unused, index) => bytes.subarray(index * size, (index + 1) * size));
      const output: Buffer[] = [];
      const stream = Readable.from(chunks).pipe(createSearchFilterStream({ keep: keepA, offset: 0, limit: undefined }, urlRewriterFor({ from, to })()));
      for await (const chunk of stream) output.push(chunk as Buffer);
      expect(Buffer.concat(output).toString('utf8')).toBe(expected);
    }
  });

  it('answers [] when nothing is kept, and holds no part of a URL back at the end', async () => {
    const stream = Readable.from([Buffer.from(input)]).pipe(createSearchFilterStream({ keep: () => false, offset: 0, limit: undefined }, urlRewriterFor({ from, to })()));
    const output: Buffer[] = [];
    for await (const chunk of stream) output.push(chunk as Buffer);
    expect(Buffer.concat(output).toString('utf8')).toBe('[]');
  });
});

describe('JsonArraySplitter', () => {
  it('gives the exact bytes of each element, multi-byte characters included', () => {
    const elements: string[] = [];
    const splitter = new JsonArraySplitter((json) => elements.push(json.toString('utf8')));
    const input = Buffer.from('[ {"a":"}é"}, {"b":[{"c":"\\\\"}]} ,{"😀":"\\"]"}]');
    for (let index = 0; index < input.length; index += 2) splitter.write(input.subarray(index, index + 2));
    splitter.end();
    expect(elements).toEqual(['{"a":"}é"}', '{"b":[{"c":"\\\\"}]}', '{"😀":"\\"]"}']);
  });
});
