import { Transform } from 'node:stream';
import { JsonArraySplitter } from './json-array-splitter.js';
import type { UrlRewriter } from './url-rewrite.js';
import type { SearchFilter } from '../respond/request-state.js';

/** How many results of one search are decided at once (each may cost Orthanc a per-study lookup). */
const CONCURRENT_DECISIONS = 16;

const OPEN = Buffer.from('[');
const COMMA = Buffer.from(',');
const CLOSE = Buffer.from(']');
const EMPTY = Buffer.from('[]');

/**
 * Streams a QIDO-RS JSON answer through, keeping only the datasets `keep` allows and applying the
 * client's offset/limit to what is kept. Kept datasets are passed on as the bytes Orthanc wrote, in
 * Orthanc's order; the datasets of one chunk are decided CONCURRENT_DECISIONS at a time. A failing
 * `keep` fails the stream (fail closed). With `rewriter`, the output goes through it in the same
 * stage (the public URLs), instead of a second Transform.
 */
export function createSearchFilterStream({ keep, offset, limit }: SearchFilter, rewriter?: UrlRewriter): Transform {
  let skipped = 0;
  let sent = 0;
  let found: Buffer[] = [];
  const splitter = new JsonArraySplitter((json) => void found.push(json));
  const full = () => limit !== undefined && sent >= limit;

  async function verdicts(candidates: readonly Buffer[]): Promise<boolean[]> {
    const all: boolean[] = [];
    for (let start = 0; start < candidates.length; start += CONCURRENT_DECISIONS) {
      const batch = candidates.slice(start, start + CONCURRENT_DECISIONS).map((json) => keep(JSON.parse(json.toString('utf8'))));
      all.push(...(await Promise.all(batch)));
    }
    return all;
  }

  function kept(candidates: readonly Buffer[], allowed: readonly boolean[]): Buffer[] {
    const output: Buffer[] = [];
    candidates.forEach((json, index) => {
      if (!allowed[index] || full()) return;
      if (skipped < offset) return void (skipped += 1);
      output.push(sent === 0 ? OPEN : COMMA, json);
      sent += 1;
    });
    return output;
  }

  /** Decides what the splitter found so far and passes it on (rewritten), closing the array at the end; synchronous when nothing was found. */
  function pass(callback: (error?: Error | null, data?: Buffer) => void, last: boolean): void {
    const candidates = full() ? [] : found;
    found = [];
    const send = (parts: Buffer[]) => {
      if (last) parts.push(sent === 0 ? EMPTY : CLOSE);
      const bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
      const out = rewriter ? concat(rewriter.write(bytes), last ? rewriter.end() : undefined) : bytes;
      callback(null, out.length ? out : undefined);
    };
    if (candidates.length === 0) return send([]);
    verdicts(candidates).then((allowed) => send(kept(candidates, allowed)), callback);
  }

  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      try {
        splitter.write(chunk);
      } catch (error) {
        return callback(error as Error);
      }
      pass(callback, false);
    },
    flush(callback) {
      try {
        splitter.end();
      } catch (error) {
        return callback(error as Error);
      }
      pass(callback, true);
    },
  });
}

function concat(first: Buffer, second: Buffer | undefined): Buffer {
  return second === undefined || second.length === 0 ? first : Buffer.concat([first, second]);
}
