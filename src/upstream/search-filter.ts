import { StringDecoder } from 'node:string_decoder';
import { Transform } from 'node:stream';
import { JsonArraySplitter } from './json-array-splitter.js';
import type { SearchFilter } from '../respond/request-state.js';

/** How many results of one search are decided at once (each may cost Orthanc a per-study lookup). */
const CONCURRENT_DECISIONS = 16;

/**
 * Streams a QIDO-RS JSON answer through, keeping only the datasets `keep` allows and applying the
 * client's offset/limit to what is kept. Kept datasets are passed on as Orthanc wrote them, in
 * Orthanc's order; the datasets of one chunk are decided CONCURRENT_DECISIONS at a time. A failing
 * `keep` fails the stream (fail closed).
 */
export function createSearchFilterStream({ keep, offset, limit }: SearchFilter): Transform {
  const decoder = new StringDecoder('utf8');
  let skipped = 0;
  let sent = 0;
  let found: string[] = [];
  const splitter = new JsonArraySplitter((json) => void found.push(json));
  const full = () => limit !== undefined && sent >= limit;

  async function kept(): Promise<string> {
    const candidates = full() ? [] : found;
    found = [];
    const verdicts: boolean[] = [];
    for (let start = 0; start < candidates.length; start += CONCURRENT_DECISIONS) {
      verdicts.push(...(await Promise.all(candidates.slice(start, start + CONCURRENT_DECISIONS).map((json) => keep(JSON.parse(json))))));
    }
    const output: string[] = [];
    candidates.forEach((json, index) => {
      if (!verdicts[index] || full()) return;
      if (skipped < offset) return void (skipped += 1);
      output.push(sent === 0 ? '[' : ',', json);
      sent += 1;
    });
    return output.join('');
  }

  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      try {
        splitter.write(decoder.write(chunk));
      } catch (error) {
        return callback(error as Error);
      }
      kept().then((text) => callback(null, text === '' ? undefined : text), callback);
    },
    flush(callback) {
      try {
        splitter.write(decoder.end());
        splitter.end();
      } catch (error) {
        return callback(error as Error);
      }
      kept().then((text) => callback(null, text + (sent === 0 ? '[]' : ']')), callback);
    },
  });
}
