import type ProtocolMapperRepresentation from '@keycloak/keycloak-admin-client/lib/defs/protocolMapperRepresentation.js';
import type { ClientSnapshot, RealmSnapshot } from './snapshot.js';
import { gatewayUrls, PATIENT_ID_ATTRIBUTE, SMART_PATIENT_SCOPE, type GatewayTarget } from './wanted-state.js';

/** What the gateway expects of the realm: the setup target plus how it validates access tokens. */
export interface DoctorExpectations extends GatewayTarget {
  /** OIDC_TOKEN_VALIDATION */
  tokenValidation: 'jwt' | 'introspection';
  /** Longest access token lifespan that still lets a revocation take effect soon enough (seconds). */
  maxAccessTokenSeconds: number;
}

export interface Finding {
  /** Stable identifier, e.g. `audience-mapper-missing`. */
  id: string;
  /** `problem`: the gateway breaks or is less safe than the README says (exit code 1); `warning`: worth a look. */
  severity: 'problem' | 'warning';
  /** The client it is about, or undefined for realm-wide findings. */
  client?: string;
  message: string;
  fix: string;
}

type ClientCheck = (client: ClientSnapshot, expect: DoctorExpectations, clientId: string) => Omit<Finding, 'client'>[];

const attribute = (client: ClientSnapshot, name: string) => client.representation.attributes?.[name];
const problem = (id: string, message: string, fix: string): Omit<Finding, 'client'> => ({ id, severity: 'problem', message, fix });
const when = (condition: boolean, finding: () => Omit<Finding, 'client'>) => (condition ? [finding()] : []);
const adminPath = (clientId: string) => `Clients → ${clientId}`;

function claimInToken(mapper: ProtocolMapperRepresentation, tokenValidation: DoctorExpectations['tokenValidation']): boolean {
  const inAccessToken = mapper.config?.['access.token.claim'] === 'true';
  if (tokenValidation === 'jwt') return inAccessToken;
  // Keycloak's rule for mappers older than the flag: no introspection setting follows the access token's.
  const inIntrospection = mapper.config?.['introspection.token.claim'];
  return inIntrospection === undefined ? inAccessToken : inIntrospection === 'true';
}

const implicitFlowOff: ClientCheck = (client, _expect, clientId) =>
  when(client.representation.implicitFlowEnabled === true, () =>
    problem('implicit-flow-on', 'The implicit flow is on: tokens would travel in URL fragments', `${adminPath(clientId)} → Capability config: turn "Implicit flow" off (or run setup)`));

const directGrantsOff: ClientCheck = (client, _expect, clientId) =>
  when(client.representation.directAccessGrantsEnabled === true, () =>
    problem('direct-grants-on', 'Direct access grants (password grant) are on: anyone with a password gets tokens without the login page, its brute-force protection and second factor', `${adminPath(clientId)} → Capability config: turn "Direct access grants" off (or run setup)`));

const noOtherFlows: ClientCheck = (client, expect, clientId) => [
  ...implicitFlowOff(client, expect, clientId),
  ...directGrantsOff(client, expect, clientId),
  ...when(client.representation.standardFlowEnabled === false, () =>
    problem('standard-flow-off', 'The standard flow (authorization code) is off: nobody can sign in', `${adminPath(clientId)} → Capability config: turn "Standard flow" on (or run setup)`)),
];

const pkce: ClientCheck = (client, _expect, clientId) =>
  when(attribute(client, 'pkce.code.challenge.method') !== 'S256', () =>
    problem('pkce-not-required', 'PKCE is not required (S256): an intercepted authorization code could be redeemed', `${adminPath(clientId)} → Advanced → "Proof Key for Code Exchange Code Challenge Method": S256 (or run setup)`));

function redirectUriCheck(wanted: string[]): ClientCheck {
  return (client, _expect, clientId) => {
    const actual = client.representation.redirectUris ?? [];
    const fix = `${adminPath(clientId)} → "Valid redirect URIs": exactly ${wanted.join(', ')} (or run setup)`;
    return [
      ...when(actual.some((uri) => uri.includes('*')), () =>
        problem('redirect-uri-wildcard', `Redirect URIs with wildcards (${actual.filter((uri) => uri.includes('*')).join(', ')}) let a code be sent to any matching URL`, fix)),
      ...when(wanted.some((uri) => !actual.includes(uri)), () =>
        problem('redirect-uri-missing', `The redirect URI ${wanted.filter((uri) => !actual.includes(uri)).join(', ')} is not registered: Keycloak refuses the sign-in ("Invalid parameter: redirect_uri")`, fix)),
      ...when(actual.some((uri) => !uri.includes('*') && !wanted.includes(uri)), () =>
        problem('redirect-uri-extra', `Redirect URIs other than the gateway's are registered (${actual.filter((uri) => !uri.includes('*') && !wanted.includes(uri)).join(', ')}): a code could be sent there`, fix)),
    ];
  };
}

const postLogoutRedirect: ClientCheck = (client, expect, clientId) => {
  const wanted = gatewayUrls(expect.publicUrl).postLogout;
  const registered = (attribute(client, 'post.logout.redirect.uris') ?? '').split('##');
  return when(!registered.includes(wanted), () =>
    problem('post-logout-redirect-missing', `The post-logout redirect URI ${wanted} is not registered: sign-out ends on a Keycloak error page`, `${adminPath(clientId)} → "Valid post logout redirect URIs": ${wanted} (or run setup)`));
};

const confidentialWith = (secretVariable: string): ClientCheck => (client, _expect, clientId) =>
  when(client.representation.publicClient === true || client.representation.bearerOnly === true, () =>
    problem('client-not-confidential', 'The client is not confidential: the gateway authenticates with its client secret', `${adminPath(clientId)} → Capability config: "Client authentication" on, then put the secret into ${secretVariable} (or run setup)`));
const confidential = confidentialWith('OIDC_CLIENT_SECRET');

const publicClient: ClientCheck = (client, _expect, clientId) =>
  when(client.representation.publicClient !== true, () =>
    problem('client-not-public', 'The viewer\'s client is not public: a browser app cannot keep a secret', `${adminPath(clientId)} → Capability config: "Client authentication" off (or run setup)`));

const backchannelLogout: ClientCheck = (client, expect, clientId) => {
  const wanted = gatewayUrls(expect.publicUrl).backchannelLogout;
  const actual = attribute(client, 'backchannel.logout.url');
  return [
    ...when(actual !== wanted, () =>
      problem('backchannel-logout-url', actual
        ? `The back-channel logout URL is ${actual}, not the gateway's ${wanted}: signing out in Keycloak leaves gateway sessions open`
        : 'No back-channel logout URL: signing out in Keycloak (or an admin ending a session) leaves gateway sessions open', `${adminPath(clientId)} → Logout settings: "Backchannel logout URL" ${wanted} (or run setup)`)),
    ...when(attribute(client, 'backchannel.logout.session.required') !== 'true', () =>
      problem('backchannel-logout-session-not-required', 'Back-channel logout tokens carry no session id (sid): one sign-out ends every session of the user instead of that one', `${adminPath(clientId)} → Logout settings: "Backchannel logout session required" on (or run setup)`)),
  ];
};

const audience: ClientCheck = (client, expect, clientId) => {
  const mappers = client.mappers.filter((mapper) => mapper.protocolMapper === 'oidc-audience-mapper'
    && (mapper.config?.['included.client.audience'] === expect.audience || mapper.config?.['included.custom.audience'] === expect.audience));
  const where = expect.tokenValidation === 'jwt' ? 'access token' : 'introspection answer';
  return when(!mappers.some((mapper) => claimInToken(mapper, expect.tokenValidation)), () =>
    problem('audience-mapper-missing', `No audience mapper puts "${expect.audience}" into the ${where}'s aud (it would say aud=account): the gateway refuses every token (401)`,
      `${adminPath(clientId)} → Client scopes → ${clientId}-dedicated → Add mapper "Audience", included client audience ${expect.audience}, "Add to ${expect.tokenValidation === 'jwt' ? 'access token' : 'token introspection'}" on (or run setup)`));
};

const realmRolesMapper: ClientCheck = (client, expect, clientId) =>
  when(!client.mappers.some((mapper) => mapper.protocolMapper === 'oidc-usermodel-realm-role-mapper' && claimInToken(mapper, expect.tokenValidation)), () =>
    problem('realm-roles-mapper-missing', 'No realm-roles mapper among the client\'s default scopes: tokens carry no realm_access.roles, so every user is refused (403)', `${adminPath(clientId)} → Client scopes: add the "roles" scope as Default`));

const tokenLifespan: ClientCheck = (client, expect, clientId) => {
  // A client's own lifespan (attribute) overrides the realm's; "-1" or empty means the realm's.
  const own = Number(attribute(client, 'access.token.lifespan'));
  return when(own > expect.maxAccessTokenSeconds, () =>
    problem('access-token-lifespan', `The client's access tokens live ${own} s: a Bearer token stays valid until exp, so revocation (sign-out, disabled user) takes effect only then`, `${adminPath(clientId)} → Advanced → "Access Token Lifespan": at most ${expect.maxAccessTokenSeconds / 60} min (5 min is Keycloak's default)`));
};

const lightweightTokens: ClientCheck = (client, expect, clientId) =>
  when(attribute(client, 'client.use.lightweight.access.token.enabled') === 'true' && expect.tokenValidation === 'jwt', () =>
    problem('lightweight-tokens-without-introspection', 'Lightweight access tokens are on but the gateway validates JWTs: the tokens lack roles and audience, so every request is refused', `Set OIDC_TOKEN_VALIDATION=introspection on the gateway, or ${adminPath(clientId)} → Advanced: "Always use lightweight access token" off`));

const enabled: ClientCheck = (client, _expect, clientId) =>
  when(client.representation.enabled === false, () => problem('client-disabled', 'The client is disabled: nobody can sign in', `${adminPath(clientId)}: turn "Enabled" on`));

const webOrigins: ClientCheck = (client, expect, clientId) => {
  const wanted = gatewayUrls(expect.publicUrl).origin;
  const actual = client.representation.webOrigins ?? [];
  return when(actual.length !== 1 || actual[0] !== wanted, () =>
    problem('web-origins', `Web origins are [${actual.join(', ')}], not exactly ${wanted}: the viewer's token requests are refused by CORS, or other sites may call the token endpoint`, `${adminPath(clientId)} → "Web origins": exactly ${wanted} (or run setup)`));
};

const GATEWAY_CLIENT_CHECKS: ClientCheck[] = [enabled, confidential, noOtherFlows, pkce, postLogoutRedirect, backchannelLogout, audience, realmRolesMapper, tokenLifespan, lightweightTokens];
const ohifChecks = (expect: DoctorExpectations): ClientCheck[] => [enabled, publicClient, noOtherFlows, pkce, redirectUriCheck(gatewayUrls(expect.publicUrl).ohifRedirects), webOrigins, audience, realmRolesMapper, tokenLifespan];

/** A SMART client needs an optional scope naming the patient scope in `scope` and mapping the patient claim into the token. */
const smartPatientScope: ClientCheck = (client, expect, clientId) => {
  const claim = expect.patientClaim ?? 'patient';
  const scope = client.scopes?.find((candidate) => candidate.name === SMART_PATIENT_SCOPE);
  const fix = `npm run keycloak -- setup --smart-clients ${clientId} (or README "SMART on FHIR apps": client scope ${SMART_PATIENT_SCOPE}, mapper User Attribute ${PATIENT_ID_ATTRIBUTE} → ${claim}, optional on ${adminPath(clientId)})`;
  if (!scope) {
    return [problem('smart-scope-missing', `The client has no client scope ${SMART_PATIENT_SCOPE}: a patient app cannot get a patient-context token, so SMART_CLIENTS reaches nothing`, fix)];
  }
  const mapsPatient = scope.mappers.some((mapper) => mapper.config?.['claim.name'] === claim && claimInToken(mapper, expect.tokenValidation));
  return [
    ...when(!scope.inTokenScope, () => problem('smart-scope-not-in-token', `The client scope ${SMART_PATIENT_SCOPE} is not included in the token's scope claim: the gateway sees no SMART grant (403)`, `Client scopes → ${SMART_PATIENT_SCOPE}: "Include in token scope" on (or run setup)`)),
    ...when(!mapsPatient, () => problem('smart-patient-mapper-missing', `The client scope ${SMART_PATIENT_SCOPE} puts no "${claim}" claim into the ${expect.tokenValidation === 'jwt' ? 'access token' : 'introspection answer'}: a patient token has no patient context (403)`, fix)),
  ];
};

/** The audit client gets tokens by the client credentials grant only: its service account on, every browser flow off. */
const serviceAccountOnly: ClientCheck = (client, expect, clientId) => [
  ...when(client.representation.serviceAccountsEnabled !== true, () =>
    problem('service-account-off', 'The service account is off: Keycloak refuses the client credentials grant (unauthorized_client), so audit records wait in the spool', `${adminPath(clientId)} → Capability config: "Service accounts roles" on (or run setup --audit-client ${clientId})`)),
  ...when(client.representation.standardFlowEnabled === true, () =>
    problem('standard-flow-on', 'The standard flow is on: the audit client needs no browser sign-in, and with one its secret would also sign users in', `${adminPath(clientId)} → Capability config: turn "Standard flow" off (or run setup --audit-client ${clientId})`)),
  ...implicitFlowOff(client, expect, clientId),
  ...directGrantsOff(client, expect, clientId),
];

/** AUDIT_FHIR_SCOPE: a scope that is not one of the client's (default or optional) is refused with invalid_scope. */
const auditScopes: ClientCheck = (client, expect, clientId) => {
  const bound = new Set((client.scopes ?? []).map((scope) => scope.name));
  return (expect.auditClient?.scopes ?? []).filter((scope) => !bound.has(scope)).map((scope) =>
    problem('audit-scope-missing', `The client has no client scope "${scope}" (AUDIT_FHIR_SCOPE): Keycloak answers invalid_scope, so audit records wait in the spool`, `Client scopes: create "${scope}" ("Include in token scope" on), then ${adminPath(clientId)} → Client scopes: add it as Optional (or run setup --audit-client ${clientId} --audit-scope '${scope}')`));
};

const auditAudience: ClientCheck = (client, expect, clientId) => {
  const audience = expect.auditClient?.audience;
  return when(audience !== undefined && !client.mappers.some((mapper) => mapper.protocolMapper === 'oidc-audience-mapper'
    && (mapper.config?.['included.custom.audience'] === audience || mapper.config?.['included.client.audience'] === audience) && mapper.config?.['access.token.claim'] === 'true'), () =>
    problem('audit-audience-mapper-missing', `No audience mapper puts "${audience}" into the audit client's access tokens: a FHIR server checking aud refuses them (401), so audit records wait in the spool`, `${adminPath(clientId)} → Client scopes → ${clientId}-dedicated → Add mapper "Audience", included custom audience ${audience}, "Add to access token" on (or run setup)`));
};

const AUDIT_CLIENT_CHECKS: ClientCheck[] = [enabled, confidentialWith('AUDIT_FHIR_CLIENT_SECRET'), serviceAccountOnly, auditAudience, auditScopes];

function checkClient(snapshot: RealmSnapshot, clientId: string, checks: ClientCheck[], expect: DoctorExpectations, missingFix = `npm run keycloak -- setup --url … --realm ${snapshot.realm.realm}`): Finding[] {
  const client = snapshot.clients[clientId];
  if (!client) {
    return [{ ...problem('client-missing', `The realm has no client "${clientId}"`, missingFix), client: clientId }];
  }
  return checks.flatMap((check) => check(client, expect, clientId)).map((finding) => ({ ...finding, client: clientId }));
}

function realmChecks(snapshot: RealmSnapshot, expect: DoctorExpectations): Finding[] {
  const lifespan = snapshot.realm.accessTokenLifespan ?? 300;
  const missingRoles = expect.roles.filter((role) => !snapshot.roles.includes(role));
  return [
    ...missingRoles.map((role) => problem('role-missing', `The realm role "${role}" does not exist: nobody can be given that access`, `Realm roles → Create role "${role}" (or run setup), then assign it to users or groups`)),
    ...when(lifespan > expect.maxAccessTokenSeconds, () =>
      problem('access-token-lifespan', `Access tokens live ${lifespan} s: the gateway accepts a Bearer token until its exp (verified-token cache), so a sign-out, a disabled user or a removed role takes effect only after that`, `Realm settings → Tokens → "Access Token Lifespan": at most ${expect.maxAccessTokenSeconds / 60} min (Keycloak's default is 5 min)`)),
    ...when(snapshot.realm.revokeRefreshToken === true && (snapshot.realm.refreshTokenMaxReuse ?? 0) === 0, () => ({
      id: 'refresh-token-rotation',
      severity: 'warning' as const,
      message: 'Refresh tokens are rotated with no reuse: fine for the gateway (one refresh at a time per session, across replicas through Redis), but a refresh whose answer is lost (gateway restart mid-refresh) signs that user out',
      fix: 'Nothing to do unless users report being signed out; Realm settings → Tokens → "Refresh token max reuse" 1 tolerates a lost answer',
    })),
  ];
}

/** Everything in the realm that would break the gateway (or weaken what the README promises), each with its fix. */
export function diagnose(snapshot: RealmSnapshot, expect: DoctorExpectations): Finding[] {
  return [
    ...realmChecks(snapshot, expect),
    ...checkClient(snapshot, expect.clientId, [...GATEWAY_CLIENT_CHECKS, redirectUriCheck([gatewayUrls(expect.publicUrl).callback])], expect),
    ...(expect.ohifClientId ? checkClient(snapshot, expect.ohifClientId, ohifChecks(expect), expect) : []),
    ...(expect.smartClients ?? []).flatMap((clientId) => checkClient(snapshot, clientId, [smartPatientScope], expect,
      `Create the app's client "${clientId}" (SMART_CLIENTS names it), then npm run keycloak -- setup --smart-clients ${clientId}`)),
    ...(expect.auditClient ? checkClient(snapshot, expect.auditClient.clientId, AUDIT_CLIENT_CHECKS, expect,
      `npm run keycloak -- setup --url … --realm ${snapshot.realm.realm} --audit-client ${expect.auditClient.clientId} (AUDIT_FHIR_CLIENT_ID names it)`) : []),
  ];
}

export const hasProblems = (findings: Finding[]) => findings.some((finding) => finding.severity === 'problem');
