import { basename } from 'node:path';

/** A record the audit file must hold: its hash, and its `seq` when the witness names one. */
export interface Witness {
  hash: string;
  seq?: number;
  /** Where the witness came from, for the report. */
  source: string;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** `--expect-last <hash>`: the hash the operator noted (e.g. from the last anchor shipped off the machine). */
export function expectedLast(hash: string): Witness {
  const normalized = hash.trim().toLowerCase();
  if (!SHA256_HEX.test(normalized)) throw new Error(`--expect-last needs a SHA-256 hash (64 hex digits), got "${hash}"`);
  return { hash: normalized, source: '--expect-last' };
}

interface AnchorLine {
  msg?: unknown;
  auditAnchor?: { file?: unknown; seq?: unknown; hash?: unknown };
}

function anchorOf(text: string): AnchorLine['auditAnchor'] | undefined {
  try {
    const line = JSON.parse(text) as AnchorLine;
    return line !== null && typeof line === 'object' && line.msg === 'audit chain anchor' ? line.auditAnchor : undefined;
  } catch {
    return undefined; // the application log holds other lines too
  }
}

/**
 * The `audit chain anchor` lines of the application log for an audit file of the same name (the log
 * names the path the gateway wrote; the file may since have been copied elsewhere).
 */
export async function anchorWitnesses(logLines: AsyncIterable<string>, auditFile: string, logFile: string): Promise<Witness[]> {
  const witnesses: Witness[] = [];
  let number = 0;
  for await (const text of logLines) {
    number += 1;
    const anchor = anchorOf(text);
    if (!anchor || typeof anchor.file !== 'string' || basename(anchor.file) !== basename(auditFile)) continue;
    if (typeof anchor.seq !== 'number' || typeof anchor.hash !== 'string' || !SHA256_HEX.test(anchor.hash)) continue;
    witnesses.push({ hash: anchor.hash, seq: anchor.seq, source: `${logFile} line ${number}` });
  }
  return witnesses;
}
