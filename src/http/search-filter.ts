import { StringDecoder } from 'node:string_decoder';
import { Transform } from 'node:stream';
import { JsonArraySplitter } from './json-array-splitter.js';

export interface SearchFilter {
  /** Whether a result dataset (parsed DICOM JSON) may be shown. */
  keep: (dataset: unknown) => boolean;
  /** The client's paging, applied to the kept results. */
  offset: number;
  limit: number | undefined;
}

/**
 * Streams a QIDO-RS JSON answer through, keeping only the datasets `keep` allows and applying the
 * client's offset/limit to what is kept. Kept datasets are passed on as Orthanc wrote them.
 */
export function createSearchFilterStream({ keep, offset, limit }: SearchFilter): Transform {
  const decoder = new StringDecoder('utf8');
  let skipped = 0;
  let sent = 0;
  let output: string[] = [];
  const splitter = new JsonArraySplitter((json) => {
    if (limit !== undefined && sent >= limit) return;
    if (!keep(JSON.parse(json))) return;
    if (skipped < offset) return void (skipped += 1);
    output.push(sent === 0 ? '[' : ',', json);
    sent += 1;
  });
  const flushed = () => {
    const text = output.join('');
    output = [];
    return text;
  };

  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      try {
        splitter.write(decoder.write(chunk));
        const text = flushed();
        callback(null, text === '' ? undefined : text);
      } catch (error) {
        callback(error as Error);
      }
    },
    flush(callback) {
      try {
        splitter.write(decoder.end());
        splitter.end();
        callback(null, flushed() + (sent === 0 ? '[]' : ']'));
      } catch (error) {
        callback(error as Error);
      }
    },
  });
}
