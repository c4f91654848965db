import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { fileLines as lines } from './file-lines.js';
import { verifyChain } from './verify.js';
import { anchorWitnesses, expectedLast, type Witness } from './witnesses.js';
import { toCsv, toTable, whoSaw, whoSawQuery } from './who-saw.js';

/**
 * `npm run audit -- verify <file> [--expect-last <hash>] [--anchors-from <app log>]`: checks the hash
 * chain of an audit file, names the first broken line; with witnesses, also lines cut off its end.
 * `npm run audit -- who-saw --file <file> (--study <uid> | --patient <id> | --user <sub or name>) [--from <time>] [--to <time>] [--csv]`
 * Exit codes: 0 fine, 1 chain broken, 2 usage error.
 */

const USAGE = `usage:
  npm run audit -- verify <audit file> [--expect-last <sha-256 hex>] [--anchors-from <application log>]
  npm run audit -- who-saw --file <audit file> (--study <StudyInstanceUID> | --patient <PatientID> | --user <sub or username>) [--from <ISO time>] [--to <ISO time>] [--csv]`;

function usage(message: string): number {
  process.stderr.write(`${message}\n${USAGE}\n`);
  return 2;
}

async function witnessesOf(file: string, values: { 'expect-last'?: string; 'anchors-from'?: string }): Promise<Witness[]> {
  const witnesses: Witness[] = values['expect-last'] ? [expectedLast(values['expect-last'])] : [];
  const log = values['anchors-from'];
  if (log) {
    if (!existsSync(log)) throw new Error(`no such file: ${log}`);
    const anchors = await anchorWitnesses(lines(log), file, log);
    if (anchors.length === 0) throw new Error(`no "audit chain anchor" line for ${basename(file)} in ${log}`);
    witnesses.push(...anchors);
  }
  return witnesses;
}

async function verify(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { 'expect-last': { type: 'string' }, 'anchors-from': { type: 'string' } }, allowPositionals: true, strict: true });
  const [file] = positionals;
  if (!file || positionals.length !== 1) return usage('verify needs exactly one file');
  if (!existsSync(file)) return usage(`no such file: ${file}`);
  const witnesses = await witnessesOf(file, values); // before the file's stream opens: its lines would flow unread meanwhile
  const report = await verifyChain(lines(file), witnesses);
  if (report.broken) {
    process.stdout.write(`BROKEN at line ${report.broken.line}: the record ${report.broken.reason}\n`);
    return 1;
  }
  const checked = report.witnesses > 0
    ? `, all ${report.witnesses} witnessed records present. Last record hash ${report.lastHash ?? '-'}.\n`
    : `. Last record hash ${report.lastHash ?? '-'}: it should equal the hash of the last "audit chain anchor" line in the gateway's log ` +
      'when the gateway stopped cleanly (--anchors-from <log> checks every anchor; --expect-last <hash> one you noted).\n';
  process.stdout.write(`OK: ${report.lines} records (${report.anchors} anchors), chain intact${checked}`);
  return 0;
}

async function who(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { file: { type: 'string' }, study: { type: 'string' }, patient: { type: 'string' }, user: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, csv: { type: 'boolean' } },
    strict: true,
  });
  if (!values.file) return usage('who-saw needs --file');
  if (!existsSync(values.file)) return usage(`no such file: ${values.file}`);
  const found = await whoSaw(lines(values.file), whoSawQuery(values));
  process.stdout.write(values.csv ? toCsv(found) : toTable(found));
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === 'verify') return await verify(rest);
    if (command === 'who-saw') return await who(rest);
  } catch (error) {
    return usage((error as Error).message);
  }
  return usage(`unknown command: ${command ?? '(none)'}`);
}

process.exitCode = await main(process.argv.slice(2));
