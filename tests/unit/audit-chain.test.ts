/**
 * The hash-chained audit file and `npm run audit -- verify`: an untouched file verifies; an edited,
 * deleted or reordered line, or a removed beginning, is reported with its line number. The command
 * runs as a user runs it (scripts/audit.mjs), on a file written by the gateway's chained-file sink.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { createChainedFile } from '../../src/audit/chained-file.js';
import type { AuditEvent } from '../../src/observability/audit.js';
import { createLogger } from '../../src/observability/logger.js';

const EVENT: AuditEvent = {
  event: 'access', action: 'retrieve', user: { sub: 'sub-1', username: 'alice' }, via: 'bearer', method: 'GET',
  path: '/pacs/dicom-web/studies/1.2.3', status: 200, clientIp: '10.0.0.7', requestId: 'req', studyUid: '1.2.3',
};

/** A chained file of `count` records (anchors every 4), closed: its lines. */
function writeChain(count: number): { file: string; lines: string[] } {
  const file = join(mkdtempSync(join(tmpdir(), 'audit-chain-')), 'audit.log');
  const sink = createChainedFile({ file, anchorEvery: 4, logger: createLogger('silent') });
  for (let index = 0; index < count; index++) sink.write({ time: new Date().toISOString(), event: { ...EVENT, requestId: `req-${index}` }, patients: [] });
  void sink.close();
  return { file, lines: readFileSync(file, 'utf8').trimEnd().split('\n') };
}

function verify(file: string): { status: number | null; stdout: string } {
  const run = spawnSync(process.execPath, ['scripts/audit.mjs', 'verify', file], { encoding: 'utf8' });
  return { status: run.status, stdout: run.stdout + run.stderr };
}

function tampered(lines: string[], change: (lines: string[]) => string[]): string {
  const file = join(mkdtempSync(join(tmpdir(), 'audit-chain-')), 'audit.log');
  writeFileSync(file, `${change([...lines]).join('\n')}\n`);
  return file;
}

describe('npm run audit -- verify', () => {
  const { file, lines } = writeChain(10);

  it('accepts an untouched file, anchors included, and names its last hash', () => {
    expect(lines).toHaveLength(1 + 10 + 2 + 1); // start, 10 records, 2 periodic anchors, stop
    expect(lines.filter((line) => line.includes('"event":"anchor"'))).toHaveLength(4);
    const { status, stdout } = verify(file);
    expect(stdout).toMatch(/^OK: 14 records \(4 anchors\), chain intact\. Last record hash [0-9a-f]{64}/);
    expect(status).toBe(0);
  });

  it('continues the chain of an existing file after a restart', () => {
    const sink = createChainedFile({ file, anchorEvery: 4, logger: createLogger('silent') });
    sink.write({ time: new Date().toISOString(), event: EVENT, patients: [] });
    void sink.close();
    expect(verify(file)).toEqual({ status: 0, stdout: expect.stringMatching(/^OK: 17 records/) });
  });

  it.each([
    ['an edited line', (all: string[]) => { all[6] = all[6]!.replace('"status":200', '"status":404'); return all; }, 7, /was changed/],
    ['an edited first line', (all: string[]) => { all[0] = all[0]!.replace('"reason":"start"', '"reason":"begin"'); return all; }, 1, /was changed/],
    ['a deleted line', (all: string[]) => { all.splice(7, 1); return all; }, 8, /deleted or moved/],
    ['two lines swapped', (all: string[]) => { [all[3], all[4]] = [all[4]!, all[3]!]; return all; }, 4, /seq 3, found 4/],
    ['a line moved back', (all: string[]) => { const [moved] = all.splice(9, 1); all.splice(2, 0, moved!); return all; }, 3, /found 9/],
    ['the first lines removed', (all: string[]) => all.slice(2), 1, /does not start the chain/],
    ['a line that is not JSON', (all: string[]) => { all[4] = 'hello'; return all; }, 5, /not a JSON record/],
    ['a duplicated line', (all: string[]) => { all.splice(6, 0, all[6]!); return all; }, 8, /expected seq 7, found 6: records out of order/],
  ])('reports %s with its line number', (_name, change, line, reason) => {
    const changed = change([...lines]);
    expect(changed).not.toEqual(lines);
    const { status, stdout } = verify(tampered(lines, () => changed));
    expect(stdout).toMatch(new RegExp(`^BROKEN at line ${line}: `));
    expect(stdout).toMatch(reason);
    expect(status).toBe(1);
  });

  it('explains its usage and exits 2 without a file', () => {
    const run = spawnSync(process.execPath, ['scripts/audit.mjs', 'verify'], { encoding: 'utf8' });
    expect(run.stderr).toContain('usage:');
    expect(run.status).toBe(2);
  });
});
