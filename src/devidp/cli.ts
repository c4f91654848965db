/**
 * Runs the development IdP on its own: `tsx src/devidp/cli.ts` (or `node dist/devidp/cli.js`).
 *   DEV_IDP_PORT         default 8081
 *   DEV_IDP_HOST         interface to listen on, default 127.0.0.1
 *   DEV_IDP_PUBLIC_HOST  host name in the issuer, default localhost
 *   DEV_IDP_APP_ORIGIN   origin of the gateway when not http://localhost:8080
 *   DEV_IDP_REALM_FILE   realm export, default realm-export/orthanc-realm.json
 *   SMART_CLIENTS        comma list of clients given the optional scope patient/ImagingStudy.rs, as
 *                        `npm run keycloak -- setup --smart-clients` does (SMART_PATIENT_CLAIM: its claim)
 *   GATEWAY_PUBLIC_URL, GATEWAY_BACKCHANNEL_LOGOUT_URL, OIDC_CLIENT_SECRET
 *                        the realm export's placeholders, read from the environment as Keycloak does
 * Stops on SIGINT / SIGTERM.
 */
import { startDevIdp } from './server.js';

const env = process.env;

async function main(): Promise<void> {
  const idp = await startDevIdp({
    port: Number(env['DEV_IDP_PORT'] ?? 8081),
    host: env['DEV_IDP_HOST'] ?? '127.0.0.1',
    publicHost: env['DEV_IDP_PUBLIC_HOST'] ?? 'localhost',
    ...(env['DEV_IDP_APP_ORIGIN'] ? { appOrigin: env['DEV_IDP_APP_ORIGIN'] } : {}),
    ...(env['DEV_IDP_REALM_FILE'] ? { realmFile: env['DEV_IDP_REALM_FILE'] } : {}),
    realmEnv: env,
    smartClients: (env['SMART_CLIENTS'] ?? '').split(',').map((id) => id.trim()).filter(Boolean),
    ...(env['SMART_PATIENT_CLAIM'] ? { patientClaim: env['SMART_PATIENT_CLAIM'] } : {}),
  });
  console.log(`[dev-idp] discovery: ${idp.issuer}/.well-known/openid-configuration`);
  for (const user of idp.realm.users) {
    const roles = user.realmRoles.join(', ') || 'no roles';
    const groups = user.groups.length ? `; groups ${user.groups.join(', ')}` : '';
    console.log(`[dev-idp] user ${user.username} / ${user.password ?? '(no password)'}  (${roles}${groups})`);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`[dev-idp] ${signal}: stopping`);
    idp.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('[dev-idp] stop failed', error);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(`[dev-idp] ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
