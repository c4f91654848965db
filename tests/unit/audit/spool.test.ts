/**
 * The on-disk spool of an audit transport: first in, first out; what was not delivered survives a
 * restart, in order; bounded in bytes (delivered lines are compacted away before refusing).
 */
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { openSpool } from '../../../src/audit/spool.js';

const fresh = () => join(mkdtempSync(join(tmpdir(), 'spool-')), 'fhir');

describe('audit spool', () => {
  it('hands messages out in order and keeps the undelivered ones across a restart', () => {
    const dir = fresh();
    const spool = openSpool({ dir, maxBytes: 1_000_000 });
    for (const payload of ['a', 'b', 'c', 'd']) expect(spool.push(payload, 1000)).toBe(true);
    expect(spool.peek()).toEqual({ time: 1000, payload: 'a', length: expect.any(Number) });
    spool.ack();
    spool.ack();
    spool.close();
    const reopened = openSpool({ dir, maxBytes: 1_000_000 });
    expect([reopened.depth(), reopened.peek()?.payload, reopened.oldest()?.time]).toEqual([2, 'c', 1000]);
    reopened.ack();
    reopened.push('e');
    reopened.close();
    const again = openSpool({ dir, maxBytes: 1_000_000 });
    const rest: string[] = [];
    for (let item = again.peek(); item; item = again.peek()) {
      rest.push(item.payload);
      again.ack();
    }
    expect(rest).toEqual(['d', 'e']);
    expect([again.depth(), again.bytes(), statSync(join(dir, 'queue.jsonl')).size]).toEqual([0, 0, 0]);
  });

  it('refuses a message that would pass maxBytes, after compacting delivered lines away', () => {
    const payload = 'x'.repeat(40);
    const lineBytes = JSON.stringify({ t: 1000, p: payload }).length + 1;
    const maxBytes = 3 * lineBytes + 10;
    const spool = openSpool({ dir: fresh(), maxBytes });
    expect([spool.push(payload, 1000), spool.push(payload, 1000), spool.push(payload, 1000)]).toEqual([true, true, true]);
    expect(spool.push(payload, 1000)).toBe(false);
    spool.ack();
    expect(spool.push(payload, 1000)).toBe(true); // room again once the delivered line is compacted away
    expect(spool.bytes()).toBeLessThanOrEqual(maxBytes);
    expect(spool.depth()).toBe(3);
  });
});
