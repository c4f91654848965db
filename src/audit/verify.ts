import { GENESIS, lineHash } from './chain.js';
import type { Witness } from './witnesses.js';

export interface ChainReport {
  /** Lines read (records, anchors included). */
  lines: number;
  anchors: number;
  /** The hash of the last line: compare with the last "audit chain anchor" in the gateway's log. */
  lastHash: string | undefined;
  /** Witnesses (anchors from the application log, `--expect-last`) the file was checked against. */
  witnesses: number;
  /** The first line that breaks the chain, and why (one past the last line: records cut off the end). */
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

/** A witnessed record whose line has the same seq but another hash: the file was rewritten from there. */
function contradicted(witnesses: Witness[], seq: number, hash: string): Witness | undefined {
  return witnesses.find((witness) => witness.seq === seq && witness.hash !== hash);
}

/**
 * Checks a hash-chained audit file line by line and reports the first line that breaks the chain:
 * an edited line (its successor's `prev` no longer matches it), a deleted one (a gap in `seq`), a
 * moved one (`seq` out of order), or anything that is not a chained record. The chain cannot show
 * lines cut off its end; witnesses can: every witnessed record must be in the file, with its hash.
 */
export async function verifyChain(lines: AsyncIterable<string>, witnesses: Witness[] = []): Promise<ChainReport> {
  let previous: { hash: string; seq: number } | undefined;
  let number = 0;
  let anchors = 0;
  const unseen = new Set(witnesses.map((witness) => witness.hash));
  const report = (broken?: ChainReport['broken']): ChainReport => ({ lines: number, anchors, witnesses: witnesses.length, lastHash: previous?.hash, ...(broken ? { broken } : {}) });
  for await (const text of lines) {
    number += 1;
    const link = parse(text);
    const broken = link ? breakAt(link, previous) : { offset: 0 as const, reason: 'is not a JSON record' };
    if (broken) return report({ line: number + broken.offset, reason: broken.reason });
    const hash = lineHash(text);
    const other = contradicted(witnesses, link!.seq as number, hash);
    if (other) return report({ line: number, reason: `differs from the record seq ${other.seq} witnessed in ${other.source}: the file was rewritten from here` });
    unseen.delete(hash);
    if (link!.event === 'anchor') anchors += 1;
    previous = { hash, seq: link!.seq as number };
  }
  const missing = witnesses.find((witness) => unseen.has(witness.hash));
  if (missing) {
    const which = missing.seq === undefined ? `with hash ${missing.hash}` : `seq ${missing.seq}`;
    return report({ line: number + 1, reason: `${which} (witnessed in ${missing.source}) is missing: records were cut off the end of the file` });
  }
  return report();
}
