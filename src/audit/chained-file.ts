import { closeSync, existsSync, mkdirSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '../observability/logger.js';
import { GENESIS, lineHash } from './chain.js';
import type { AuditSink } from './dispatcher.js';
import type { AuditRecord } from './record.js';

const TAIL_BYTES = 1024 * 1024;
const BASE = { level: 30, service: 'orthanc-oidc-gateway', log: 'audit' };

/** The last line of a file (read from its end), or undefined for an empty or missing file. */
function lastLine(file: string): string | undefined {
  if (!existsSync(file)) return undefined;
  const size = statSync(file).size;
  const length = Math.min(size, TAIL_BYTES);
  const buffer = Buffer.alloc(length);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buffer, 0, length, size - length);
  } finally {
    closeSync(fd);
  }
  return buffer.toString('utf8').split('\n').filter((line) => line !== '').at(-1);
}

function seqOf(line: string): number {
  try {
    const seq = (JSON.parse(line) as { seq?: unknown }).seq;
    return typeof seq === 'number' ? seq : -1;
  } catch {
    return -1;
  }
}

/**
 * The local audit file, hash-chained: every line carries `seq` (0, 1, 2… over the file's life) and
 * `prev`, the SHA-256 of the line before it, so an edited, deleted or reordered line breaks the
 * chain (`npm run audit -- verify <file>`). An `anchor` record starts and ends every run and comes
 * after every `anchorEvery` records; its hash also goes to the application log, a witness outside
 * the file for its end (the last lines of a file have no successor to give them away).
 * Written synchronously, one line per record; a restart continues the chain of the file.
 */
export function createChainedFile({ file, anchorEvery, logger }: { file: string; anchorEvery: number; logger: Pick<Logger, 'info'> }): AuditSink {
  mkdirSync(dirname(file), { recursive: true });
  const previous = lastLine(file);
  let prev = previous === undefined ? GENESIS : lineHash(previous);
  let seq = previous === undefined ? 0 : seqOf(previous) + 1;
  let sinceAnchor = 0;
  const fd = openSync(file, 'a');

  function append(fields: Record<string, unknown>): string {
    const line = JSON.stringify({ ...fields, seq, prev });
    writeSync(fd, `${line}\n`);
    prev = lineHash(line);
    seq += 1;
    return prev;
  }

  function anchor(reason: 'start' | 'periodic' | 'stop'): void {
    const at = seq;
    const hash = append({ ...BASE, time: new Date().toISOString(), event: 'anchor', reason, msg: 'audit anchor' });
    sinceAnchor = 0;
    logger.info({ auditAnchor: { file, seq: at, hash, reason } }, 'audit chain anchor');
  }

  anchor('start');
  return {
    write({ time, event, patients }: AuditRecord) {
      append({ ...BASE, time, ...event, ...(patients.length > 0 ? { patients } : {}), msg: 'audit' });
      sinceAnchor += 1;
      if (sinceAnchor >= anchorEvery) anchor('periodic');
    },
    close() {
      anchor('stop');
      closeSync(fd);
    },
  };
}
