/** The streaming QIDO filter: element splitting at any chunk boundary, paging, failing closed. */
import { describe, expect, it } from '@jest/globals';
import { Readable } from 'node:stream';
import { JsonArraySplitter } from '../../../src/upstream/json-array-splitter.js';
import type { SearchFilter } from '../../../src/respond/request-state.js';
import { createSearchFilterStream } from '../../../src/upstream/search-filter.js';

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

describe('JsonArraySplitter', () => {
  it('gives the exact text of each element', () => {
    const elements: string[] = [];
    const splitter = new JsonArraySplitter((json) => elements.push(json));
    splitter.write('[ {"a":"}"}, {"b":[{"c":"\\\\"}]} ]');
    splitter.end();
    expect(elements).toEqual(['{"a":"}"}', '{"b":[{"c":"\\\\"}]}']);
  });
});
