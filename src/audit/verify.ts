import { GENESIS, lineHash } from './chain.js';

export interface ChainReport {
  /** Lines read (records, anchors included). */
  lines: number;
  anchors: number;
  /** The hash of the last line: compare with the last "audit chain anchor" in the gateway's log. */
  lastHash: string | undefined;
  /** The first line that breaks the chain, and why. */
  broken?: { line: number; reason: string };
}

interface Link {
  seq: unknown;
  prev: unknown;
  event?: unknown;
}

function parse(text: string): Link | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Link) : undefined;
  } catch {
    return undefined;
  }
}

/** Why line `number` (with its predecessor's hash and seq) breaks the chain, or undefined. */
function breakAt(link: Link, previous: { hash: string; seq: number } | undefined): { offset: 0 | -1; reason: string } | undefined {
  const expectedSeq = previous ? previous.seq + 1 : undefined;
  if (typeof link.seq !== 'number') return { offset: 0, reason: 'has no sequence number (not a chained audit record)' };
  if (!previous) {
    return link.prev === GENESIS ? undefined : { offset: 0, reason: `does not start the chain (seq ${link.seq}): earlier records were removed` };
  }
  const seqOk = link.seq === expectedSeq;
  const hashOk = link.prev === previous.hash;
  if (seqOk && hashOk) return undefined;
  if (seqOk) return { offset: -1, reason: 'was changed: the next record holds a different hash of it' };
  if (link.seq > expectedSeq!) return { offset: 0, reason: `expected seq ${expectedSeq}, found ${link.seq}: record(s) deleted or moved before this line` };
  return { offset: 0, reason: `expected seq ${expectedSeq}, found ${link.seq}: records out of order` };
}

/**
 * Checks a hash-chained audit file line by line and reports the first line that breaks the chain:
 * an edited line (its successor's `prev` no longer matches it), a deleted one (a gap in `seq`), a
 * moved one (`seq` out of order), or anything that is not a chained record.
 */
export async function verifyChain(lines: AsyncIterable<string>): Promise<ChainReport> {
  let previous: { hash: string; seq: number } | undefined;
  let number = 0;
  let anchors = 0;
  for await (const text of lines) {
    number += 1;
    const link = parse(text);
    const broken = link ? breakAt(link, previous) : { offset: 0 as const, reason: 'is not a JSON record' };
    if (broken) return { lines: number, anchors, lastHash: previous?.hash, broken: { line: number + broken.offset, reason: broken.reason } };
    if (link!.event === 'anchor') anchors += 1;
    previous = { hash: lineHash(text), seq: link!.seq as number };
  }
  return { lines: number, anchors, lastHash: previous?.hash };
}
