import { closeSync, existsSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export interface SpoolItem {
  /** When the record was spooled (ms since the epoch). */
  time: number;
  payload: string;
}

/**
 * A bounded on-disk FIFO of one transport's messages: `queue.jsonl` (one `{"t","p"}` line per
 * message, appended synchronously) and `offset` (bytes of it already delivered). Messages survive a
 * restart and leave in the order they came. When the next message would take the file past
 * `maxBytes` (delivered lines are compacted away first), or the disk cannot take it, it is refused:
 * push returns false.
 */
export interface Spool {
  push(payload: string, time?: number): boolean;
  peek(): SpoolItem | undefined;
  /** The first message was delivered: drop it. */
  ack(): void;
  depth(): number;
  bytes(): number;
  oldest(): SpoolItem | undefined;
  close(): void;
}

interface Entry extends SpoolItem {
  length: number;
}

function parseEntries(text: string): Entry[] {
  const entries: Entry[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    try {
      const { t, p } = JSON.parse(line) as { t?: unknown; p?: unknown };
      if (typeof t === 'number' && typeof p === 'string') entries.push({ time: t, payload: p, length: Buffer.byteLength(line) + 1 });
    } catch {
      // A line torn by a crash mid-write: the message was never acknowledged to anyone; skip it.
    }
  }
  return entries;
}

export function openSpool({ dir, maxBytes }: { dir: string; maxBytes: number }): Spool {
  mkdirSync(dir, { recursive: true });
  const queueFile = join(dir, 'queue.jsonl');
  const offsetFile = join(dir, 'offset');
  const stored = existsSync(queueFile) ? readFileSync(queueFile) : Buffer.alloc(0);
  const storedOffset = existsSync(offsetFile) ? Number(readFileSync(offsetFile, 'utf8')) : 0;
  let offset = Number.isSafeInteger(storedOffset) && storedOffset <= stored.length ? storedOffset : 0;
  let entries = parseEntries(stored.subarray(offset).toString('utf8'));
  let size = stored.length;
  let fd = openSync(queueFile, 'a');

  const pendingBytes = () => size - offset;

  /** Rewrites the queue with the undelivered messages only (atomically, by rename). */
  function compact(): void {
    const lines = entries.map((entry) => JSON.stringify({ t: entry.time, p: entry.payload }) + '\n').join('');
    writeFileSync(`${queueFile}.tmp`, lines);
    closeSync(fd);
    renameSync(`${queueFile}.tmp`, queueFile);
    writeFileSync(offsetFile, '0');
    fd = openSync(queueFile, 'a');
    offset = 0;
    size = Buffer.byteLength(lines);
  }

  return {
    push(payload, time = Date.now()) {
      const line = JSON.stringify({ t: time, p: payload }) + '\n';
      const length = Buffer.byteLength(line);
      if (size + length > maxBytes && offset > 0) compact();
      if (size + length > maxBytes) return false;
      try {
        writeSync(fd, line);
      } catch {
        // Disk full (or gone): refuse like a full spool, without leaving half a line behind.
        try {
          ftruncateSync(fd, size);
        } catch {
          // Nothing more to do: a torn last line is skipped when the spool is read back.
        }
        return false;
      }
      size += length;
      entries.push({ time, payload, length });
      return true;
    },
    peek: () => entries[0],
    ack() {
      const first = entries.shift();
      if (!first) return;
      offset += first.length;
      if (entries.length === 0) {
        ftruncateSync(fd, 0);
        offset = 0;
        size = 0;
      }
      writeFileSync(offsetFile, String(offset));
    },
    depth: () => entries.length,
    bytes: pendingBytes,
    oldest: () => entries[0],
    close() {
      closeSync(fd);
      entries = [];
    },
  };
}
