import { writeSync } from 'node:fs';

/**
 * A pino destination that writes the lines of one event-loop turn together: one write(2) per turn
 * instead of one per line. Under load a turn finishes several requests, each with two lines (access
 * log, audit event); pino's default destination writes each line on its own, and its asynchronous
 * mode (sonic-boom) hands each write to libuv's thread pool, which cost as much as it saved
 * (bench/README.md). Lines are written synchronously at the end of the turn (setImmediate), in
 * order, and whatever is pending when the process exits is written then.
 */
export class TurnBatchedDestination {
  private pending: string[] = [];
  private scheduled = false;
  private readonly flushNow = () => this.flushSync();

  constructor(
    private readonly fd: number,
    private readonly writeOut: (fd: number, text: string) => void = (target, text) => void writeAll(target, text),
  ) {
    process.once('exit', this.flushNow);
  }

  write(line: string): void {
    this.pending.push(line);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.flushNow);
  }

  flushSync(): void {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    const text = this.pending.length === 1 ? this.pending[0]! : this.pending.join('');
    this.pending = [];
    this.writeOut(this.fd, text);
  }
}

/**
 * writeSync until every byte is out (a pipe may take part of it, or be full: EAGAIN). A closed
 * stdout (EPIPE) ends logging, as with pino's own destination; other errors are thrown.
 */
function writeAll(fd: number, text: string): void {
  let rest: string | Buffer = text;
  while (rest.length > 0) {
    try {
      if (typeof rest === 'string') {
        const written = writeSync(fd, rest);
        if (written === Buffer.byteLength(rest)) return;
        rest = Buffer.from(rest).subarray(written);
      } else rest = rest.subarray(writeSync(fd, rest));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') return;
      if (code !== 'EAGAIN') throw error;
    }
  }
}
