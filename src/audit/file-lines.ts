import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

/** The lines of a file, read as a stream (audit files grow large). */
export function fileLines(file: string): AsyncIterable<string> {
  return createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
}
