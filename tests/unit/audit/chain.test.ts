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
import { createChainedFile } from '../../../src/audit/chained-file.js';
import type { AuditEvent } from '../../../src/observability/audit.js';
import { createLogger } from '../../../src/observability/logger.js';

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

/** A chained file written with its application log (the anchors' witnesses) captured to a file of its own. */
function writeChainWithLog(count: number): { file: string; log: string; lines: string[]; anchorHashes: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'audit-witness-'));
  const file = join(dir, 'audit.log');
  const logged: string[] = [];
  const logger = createLogger('info', { write: (line: string) => void logged.push(line) });
  const sink = createChainedFile({ file, anchorEvery: 4, logger });
  for (let index = 0; index < count; index++) sink.write({ time: new Date().toISOString(), event: { ...EVENT, requestId: `req-${index}` }, patients: [] });
  void sink.close();
  const log = join(dir, 'gateway.log');
  // The application log holds other lines too, and anchors of other audit files.
  writeFileSync(log, ['{"level":30,"msg":"gateway listening"}', 'not json', ...logged.map((line) => line.trimEnd()),
    JSON.stringify({ msg: 'audit chain anchor', auditAnchor: { file: '/elsewhere/other-audit.log', seq: 99, hash: 'f'.repeat(64), reason: 'stop' } })].join('\n') + '\n');
  const anchorHashes = logged.map((line) => (JSON.parse(line) as { auditAnchor?: { hash: string } }).auditAnchor?.hash).filter((hash): hash is string => hash !== undefined);
  return { file, log, lines: readFileSync(file, 'utf8').trimEnd().split('\n'), anchorHashes };
}

function verifyWith(...args: string[]): { status: number | null; stdout: string } {
  const run = spawnSync(process.execPath, ['scripts/audit.mjs', 'verify', ...args], { encoding: 'utf8' });
  return { status: run.status, stdout: run.stdout + run.stderr };
}

describe('npm run audit -- verify with witnesses: records cut off the end', () => {
  const { file, log, lines, anchorHashes } = writeChainWithLog(10);
  const cut = (keep: number) => tampered(lines, (all) => all.slice(0, keep));

  it('accepts the untouched file against every anchor of the application log and against its last hash', () => {
    expect(anchorHashes).toHaveLength(4);
    expect(verifyWith(file, '--anchors-from', log)).toEqual({ status: 0, stdout: expect.stringMatching(/^OK: 14 records \(4 anchors\), chain intact, all 4 witnessed records present/) });
    expect(verifyWith(file, '--expect-last', anchorHashes.at(-1)!)).toEqual({ status: 0, stdout: expect.stringMatching(/chain intact, all 1 witnessed records present/) });
  });

  it('without witnesses, a file cut after a record still verifies (what the witnesses are for)', () => {
    expect(verify(cut(12)).status).toBe(0);
  });

  it('reports lines cut off the end against the application log\'s anchors', () => {
    const { status, stdout } = verifyWith(cut(12), '--anchors-from', log);
    expect(stdout).toMatch(/^BROKEN at line 13: the record seq 13 \(witnessed in .*gateway\.log line \d+\) is missing: records were cut off the end of the file/);
    expect(status).toBe(1);
  });

  it('reports lines cut off the end against --expect-last', () => {
    const { status, stdout } = verifyWith(cut(13), '--expect-last', anchorHashes.at(-1)!);
    expect(stdout).toMatch(new RegExp(`^BROKEN at line 14: the record with hash ${anchorHashes.at(-1)} \\(witnessed in --expect-last\\) is missing`));
    expect(status).toBe(1);
  });

  it('reports a file rewritten from a witnessed record on (a new, consistent chain)', () => {
    // Rebuild the chain from the stop anchor on: a consistent file whose last record is not the witnessed one.
    const rewritten = lines.slice(0, 13);
    const last = JSON.parse(lines[13]!) as Record<string, unknown>;
    rewritten.push(JSON.stringify({ ...last, reason: 'periodic' }));
    const { status, stdout } = verifyWith(tampered(lines, () => rewritten), '--anchors-from', log);
    expect(stdout).toMatch(/^BROKEN at line 14: the record differs from the record seq 13 witnessed in .*gateway\.log/);
    expect(status).toBe(1);
  });

  it('refuses a malformed --expect-last and a log without anchors for the file (usage, exit 2)', () => {
    expect(verifyWith(file, '--expect-last', 'abc')).toEqual({ status: 2, stdout: expect.stringContaining('--expect-last needs a SHA-256 hash') });
    expect(verifyWith(file, '--anchors-from', file)).toEqual({ status: 2, stdout: expect.stringContaining('no "audit chain anchor" line for audit.log') });
  });
});
