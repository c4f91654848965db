#!/usr/bin/env node
/**
 * `npm run audit -- verify <file>` and `npm run audit -- who-saw …`: the audit trail's commands
 * (src/audit/cli.ts).
 *
 * Without arguments: `npm audit --omit=dev`, failing on high or critical advisories. Some registry mirrors do not
 * offer the audit endpoint: then it says so and leaves the check to the dependency-floor test
 * (tests/unit/dependency-versions.test.ts) instead of failing the build on a network limitation.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const TRAIL_COMMANDS = new Set(['verify', 'who-saw']);
const [command] = process.argv.slice(2);
if (TRAIL_COMMANDS.has(command)) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  // The sources through tsx where the dev tools are installed (a dist/ there may be stale), else the build.
  const fromSource = existsSync(join(root, 'node_modules', 'tsx')) && existsSync(join(root, 'src', 'audit', 'cli.ts'));
  const args = fromSource ? ['--import', 'tsx', join(root, 'src', 'audit', 'cli.ts')] : [join(root, 'dist', 'audit', 'cli.js')];
  const trail = spawnSync(process.execPath, [...args, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(trail.status ?? 1);
}

const run = spawnSync('npm', ['audit', '--omit=dev', '--json'], { encoding: 'utf8' });
let report;
try {
  report = JSON.parse(run.stdout);
} catch {
  report = undefined;
}
if (!report || report.error || !report.metadata) {
  const reason = report?.error?.summary || report?.error?.code || 'the audit endpoint did not answer';
  console.warn(`[audit] npm audit is unavailable here (${reason}); dependency floors are checked by the test suite.`);
  process.exit(0);
}
const { high = 0, critical = 0, moderate = 0, low = 0 } = report.metadata.vulnerabilities ?? {};
console.log(`[audit] production dependencies: ${critical} critical, ${high} high, ${moderate} moderate, ${low} low`);
process.exit(high + critical > 0 ? 1 : 0);
