/** TurnBatchedDestination: the log lines of one event-loop turn leave in one write, in order. */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from '@jest/globals';
import { TurnBatchedDestination } from '../../../src/observability/log-destination.js';

function recorder() {
  const writes: Array<{ fd: number; text: string }> = [];
  return { writes, writeOut: (fd: number, text: string) => void writes.push({ fd, text }) };
}

describe('TurnBatchedDestination', () => {
  it('writes the lines of one turn together, in order, at the end of the turn', async () => {
    const { writes, writeOut } = recorder();
    const destination = new TurnBatchedDestination(7, writeOut);
    destination.write('a\n');
    destination.write('b\n');
    destination.write('c\n');
    expect(writes).toEqual([]); // nothing during the turn itself
    await nextTurn();
    expect(writes).toEqual([{ fd: 7, text: 'a\nb\nc\n' }]);
    destination.write('d\n');
    await nextTurn();
    expect(writes.map((write) => write.text)).toEqual(['a\nb\nc\n', 'd\n']);
  });

  it('writes what is pending on flushSync (process exit), and nothing twice', async () => {
    const { writes, writeOut } = recorder();
    const destination = new TurnBatchedDestination(1, writeOut);
    destination.write('last words\n');
    destination.flushSync();
    expect(writes).toEqual([{ fd: 1, text: 'last words\n' }]);
    await nextTurn();
    destination.flushSync();
    expect(writes).toHaveLength(1);
  });
});

describe('TurnBatchedDestination on a real file descriptor', () => {
  it('writes every line out', async () => {
    const { closeSync, mkdtempSync, openSync, readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const file = join(mkdtempSync(join(tmpdir(), 'log-destination-')), 'out.log');
    const fd = openSync(file, 'w');
    const destination = new TurnBatchedDestination(fd);
    const lines = Array.from({ length: 1000 }, (_, index) => `{"line":${index},"text":"é ${'x'.repeat(100)}"}\n`);
    for (const line of lines) destination.write(line);
    await nextTurn();
    closeSync(fd);
    expect(readFileSync(file, 'utf8')).toBe(lines.join(''));
  });
});
