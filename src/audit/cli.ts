import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fileLines as lines } from './file-lines.js';
import { verifyChain } from './verify.js';
import { toCsv, toTable, whoSaw, whoSawQuery } from './who-saw.js';

/**
 * `npm run audit -- verify <file>`: checks the hash chain of an audit file, names the first broken line.
 * `npm run audit -- who-saw --file <file> (--study <uid> | --patient <id> | --user <sub or name>) [--from <time>] [--to <time>] [--csv]`
 * Exit codes: 0 fine, 1 chain broken, 2 usage error.
 */

const USAGE = `usage:
  npm run audit -- verify <audit file>
  npm run audit -- who-saw --file <audit file> (--study <StudyInstanceUID> | --patient <PatientID> | --user <sub or username>) [--from <ISO time>] [--to <ISO time>] [--csv]`;

function usage(message: string): number {
  process.stderr.write(`${message}\n${USAGE}\n`);
  return 2;
}

async function verify(args: string[]): Promise<number> {
  const [file] = args;
  if (!file || args.length !== 1) return usage('verify needs exactly one file');
  if (!existsSync(file)) return usage(`no such file: ${file}`);
  const report = await verifyChain(lines(file));
  if (report.broken) {
    process.stdout.write(`BROKEN at line ${report.broken.line}: the record ${report.broken.reason}\n`);
    return 1;
  }
  process.stdout.write(`OK: ${report.lines} records (${report.anchors} anchors), chain intact. Last record hash ${report.lastHash ?? '-'}: ` +
    'it should equal the hash of the last "audit chain anchor" line in the gateway\'s log when the gateway stopped cleanly.\n');
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
