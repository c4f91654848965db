import { parseArgs } from 'node:util';
import type { AdminCredentials } from './admin-connection.js';
import type { DoctorExpectations } from './checks.js';
import type { AuditClientTarget } from './wanted-state.js';

export const USAGE = `Usage: npm run keycloak -- <setup|doctor> --url <keycloak base URL> --realm <realm> [options]

  setup    creates or updates the gateway's client, roles and mappers in an existing realm (idempotent)
  doctor   reports what in the realm would break the gateway, each with its fix (exit code 1 on a problem)

Options (defaults from the gateway's own variables):
  --public-url <url>           the gateway's PUBLIC_URL (redirect, logout and back-channel URLs)
  --client-id <id>             OIDC_CLIENT_ID (default orthanc-gateway)
  --audience <aud>             OIDC_AUDIENCE (default: the client id)
  --token-validation <mode>    OIDC_TOKEN_VALIDATION: jwt (default) or introspection
  --groups-mapper              also put group names into a "groups" claim
  --ohif [--ohif-client-id id] also the public OHIF viewer client (default id ohif-viewer)
  --smart-clients <ids>        SMART_CLIENTS: comma list of existing app clients that get the optional
                               client scope patient/ImagingStudy.rs (user attribute patient_id → claim
                               SMART_PATIENT_CLAIM, default patient); doctor checks it is there
  --audit-client <id>          AUDIT_FHIR_CLIENT_ID: the FHIR audit transport's client, confidential with
                               the service account only (client credentials grant); doctor checks it
  --audit-audience <aud>       with --audit-client: put this audience (the FHIR audit server's) into its tokens
  --audit-scope <scopes>       AUDIT_FHIR_SCOPE: space-separated client scopes, made optional on the audit
                               client (created when missing, named in the token's scope)
                               (AUDIT_FHIR_* are read only when AUDIT_FHIR_TOKEN_URL is unset or this realm's)
  --max-access-token-seconds n doctor: longest acceptable access token lifespan (default 900)
  --show-secret                setup: print the secrets of confidential clients even when they existed
  --json                       machine-readable output
Admin credentials (never as options, so they stay out of process lists):
  KEYCLOAK_ADMIN_USERNAME + KEYCLOAK_ADMIN_PASSWORD   an admin user (realm --admin-realm, default master)
  KEYCLOAK_ADMIN_CLIENT_ID + KEYCLOAK_ADMIN_CLIENT_SECRET   or a service-account client with realm-management roles`;

export class UsageError extends Error {}

export interface CliOptions {
  command: 'setup' | 'doctor';
  url: string;
  realm: string;
  expectations: DoctorExpectations;
  credentials: AdminCredentials;
  json: boolean;
  showSecret: boolean;
}

type Env = Record<string, string | undefined>;

function httpUrl(value: string | undefined, name: string): string {
  if (!value) throw new UsageError(`${name} is required`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${name} must be an http(s) URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`${name} must be an http(s) URL`);
  return value.replace(/\/+$/, '');
}

function credentialsFrom(env: Env, adminRealm: string): AdminCredentials {
  const { KEYCLOAK_ADMIN_USERNAME: username, KEYCLOAK_ADMIN_PASSWORD: password, KEYCLOAK_ADMIN_CLIENT_ID: clientId, KEYCLOAK_ADMIN_CLIENT_SECRET: clientSecret } = env;
  if (username && password) return { kind: 'user', username, password, realm: adminRealm, clientId: clientId ?? 'admin-cli' };
  if (clientId && clientSecret) return { kind: 'client', clientId, clientSecret, realm: adminRealm };
  throw new UsageError('admin credentials are required: KEYCLOAK_ADMIN_USERNAME and KEYCLOAK_ADMIN_PASSWORD, or KEYCLOAK_ADMIN_CLIENT_ID and KEYCLOAK_ADMIN_CLIENT_SECRET');
}

function positiveInteger(value: string, name: string): number {
  if (!/^\d+$/.test(value) || Number(value) === 0) throw new UsageError(`${name} must be a positive number of seconds`);
  return Number(value);
}

const commaList = (value: string | undefined) => (value ?? '').split(',').map((item) => item.trim()).filter(Boolean);

/**
 * The audit client from the options, else from the gateway's AUDIT_FHIR_* variables: those only
 * when its tokens come from this realm (no AUDIT_FHIR_TOKEN_URL, or this realm's token endpoint).
 */
function auditClientFrom(values: { 'audit-client'?: string; 'audit-audience'?: string; 'audit-scope'?: string }, env: Env, realmUrl: string): AuditClientTarget | undefined {
  const tokenUrl = env['AUDIT_FHIR_TOKEN_URL'];
  const envApplies = !tokenUrl || tokenUrl.startsWith(`${realmUrl}/`);
  const clientId = values['audit-client'] ?? (envApplies ? env['AUDIT_FHIR_CLIENT_ID'] : undefined);
  if (!clientId) {
    if (values['audit-audience'] !== undefined || values['audit-scope'] !== undefined) throw new UsageError('--audit-audience and --audit-scope need --audit-client (or AUDIT_FHIR_CLIENT_ID)');
    return undefined;
  }
  const scopes = values['audit-scope'] ?? (envApplies ? env['AUDIT_FHIR_SCOPE'] : undefined);
  // `openid` is no client scope in Keycloak: any client may ask for it.
  return { clientId, audience: values['audit-audience'], scopes: (scopes ?? '').split(' ').filter((scope) => scope && scope !== 'openid') };
}

/** The command line and environment, validated into one object (a UsageError names what is wrong). */
export function parseOptions(argv: string[], env: Env): CliOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        url: { type: 'string' },
        realm: { type: 'string' },
        'admin-realm': { type: 'string', default: 'master' },
        'public-url': { type: 'string' },
        'client-id': { type: 'string' },
        audience: { type: 'string' },
        'token-validation': { type: 'string' },
        'groups-mapper': { type: 'boolean', default: false },
        ohif: { type: 'boolean', default: false },
        'ohif-client-id': { type: 'string' },
        'smart-clients': { type: 'string' },
        'audit-client': { type: 'string' },
        'audit-audience': { type: 'string' },
        'audit-scope': { type: 'string' },
        'max-access-token-seconds': { type: 'string', default: '900' },
        'show-secret': { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (command !== 'setup' && command !== 'doctor') throw new UsageError('the command must be "setup" or "doctor"');
  if (rest.length > 0) throw new UsageError(`unexpected argument ${rest[0]}`);
  const realm = values.realm ?? env['KEYCLOAK_REALM'];
  if (!realm) throw new UsageError('--realm is required');
  const tokenValidation = values['token-validation'] ?? env['OIDC_TOKEN_VALIDATION'] ?? 'jwt';
  if (tokenValidation !== 'jwt' && tokenValidation !== 'introspection') throw new UsageError('--token-validation must be jwt or introspection');
  const clientId = values['client-id'] ?? env['OIDC_CLIENT_ID'] ?? 'orthanc-gateway';
  const wantsOhif = values.ohif || values['ohif-client-id'] !== undefined;
  const url = httpUrl(values.url ?? env['KEYCLOAK_URL'], '--url');
  return {
    command,
    url,
    realm,
    expectations: {
      publicUrl: httpUrl(values['public-url'] ?? env['PUBLIC_URL'], '--public-url (or PUBLIC_URL)'),
      clientId,
      audience: values.audience ?? env['OIDC_AUDIENCE'] ?? clientId,
      roles: [env['ROLE_VIEWER'] ?? 'pacs-viewer', env['ROLE_UPLOADER'] ?? 'pacs-uploader', env['ROLE_ADMIN'] ?? 'pacs-admin'],
      groupsMapper: values['groups-mapper'],
      ohifClientId: wantsOhif ? (values['ohif-client-id'] ?? 'ohif-viewer') : undefined,
      smartClients: commaList(values['smart-clients'] ?? env['SMART_CLIENTS']),
      patientClaim: env['SMART_PATIENT_CLAIM'] ?? 'patient',
      auditClient: auditClientFrom(values, env, `${url}/realms/${realm}`),
      tokenValidation,
      maxAccessTokenSeconds: positiveInteger(values['max-access-token-seconds'], '--max-access-token-seconds'),
    },
    credentials: credentialsFrom(env, values['admin-realm']),
    json: values.json,
    showSecret: values['show-secret'],
  };
}
