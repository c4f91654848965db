import type { Change, SetupResult } from './apply.js';
import type { Finding } from './checks.js';

const describeChange = (change: Change) =>
  `${change.action} ${change.what}${change.fields ? ` (${change.fields.join(', ')})` : ''}`;

/** setup's text output; secrets appear only when the result carries them, each with the variable it goes into. */
export function setupReport(realm: string, result: SetupResult, secretVariables: Record<string, string> = {}): string {
  const lines = result.changes.length === 0
    ? [`Realm ${realm} already matches the gateway's setup: nothing changed.`]
    : [`Realm ${realm}: ${result.changes.length} change(s)`, ...result.changes.map((change) => `  ${describeChange(change)}`)];
  for (const [clientId, secret] of Object.entries(result.secrets)) {
    lines.push(`Client secret of ${clientId} (put it into ${secretVariables[clientId] ?? 'OIDC_CLIENT_SECRET'}; shown once): ${secret}`);
  }
  return lines.join('\n');
}

export function doctorReport(realm: string, findings: Finding[]): string {
  if (findings.length === 0) return `Realm ${realm}: nothing found that would break the gateway.`;
  const lines = [`Realm ${realm}: ${findings.length} finding(s)`];
  for (const finding of findings) {
    lines.push(`${finding.severity.toUpperCase()} [${finding.id}]${finding.client ? ` client ${finding.client}` : ''}: ${finding.message}`, `  fix: ${finding.fix}`);
  }
  return lines.join('\n');
}
