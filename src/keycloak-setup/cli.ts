#!/usr/bin/env node
/**
 * `npm run keycloak -- setup|doctor --url … --realm …`: puts the gateway's client, roles and mappers
 * into an existing Keycloak realm, or reports what in it would break the gateway (README "Existing
 * Keycloak realms"). Production images run it as `node dist/keycloak-setup/cli.js`.
 */
import { connectAdmin } from './admin-connection.js';
import { applySetup } from './apply.js';
import { diagnose, hasProblems } from './checks.js';
import { parseOptions, USAGE, UsageError, type CliOptions } from './options.js';
import { doctorReport, setupReport } from './report.js';
import { readSnapshot } from './snapshot.js';
import { wantedState } from './wanted-state.js';

async function run(options: CliOptions): Promise<number> {
  const admin = await connectAdmin(options.url, options.realm, options.credentials);
  const { expectations } = options;
  if (options.command === 'setup') {
    const wanted = wantedState(expectations);
    const result = await applySetup(admin, wanted, { revealSecrets: options.showSecret });
    const secretVariables = Object.fromEntries(wanted.clients.flatMap(({ representation, secretVariable }) => (secretVariable ? [[representation.clientId, secretVariable]] : [])));
    console.log(options.json ? JSON.stringify({ realm: options.realm, ...result }, null, 2) : setupReport(options.realm, result, secretVariables));
    return 0;
  }
  const clientIds = [...new Set([
    expectations.clientId,
    ...(expectations.ohifClientId ? [expectations.ohifClientId] : []),
    ...(expectations.smartClients ?? []),
    ...(expectations.auditClient ? [expectations.auditClient.clientId] : []),
  ])];
  const findings = diagnose(await readSnapshot(admin, clientIds), expectations);
  console.log(options.json ? JSON.stringify({ realm: options.realm, findings }, null, 2) : doctorReport(options.realm, findings));
  return hasProblems(findings) ? 1 : 0;
}

let options: CliOptions | undefined;
try {
  options = parseOptions(process.argv.slice(2), process.env);
  process.exitCode = await run(options);
} catch (error) {
  if (error instanceof UsageError) console.error(`${error.message}\n\n${USAGE}`);
  else console.error(`keycloak ${options?.command}: realm ${options?.realm} at ${options?.url}: ${(error as Error).message}`);
  process.exitCode = 2;
}
