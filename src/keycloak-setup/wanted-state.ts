import type ClientRepresentation from '@keycloak/keycloak-admin-client/lib/defs/clientRepresentation.js';
import type ClientScopeRepresentation from '@keycloak/keycloak-admin-client/lib/defs/clientScopeRepresentation.js';
import type ProtocolMapperRepresentation from '@keycloak/keycloak-admin-client/lib/defs/protocolMapperRepresentation.js';
import { SIGNED_OUT_PATH } from '../auth/signed-out.js';

/** What `setup` puts into a realm, and `doctor` expects there (from options and the gateway's env). */
export interface GatewayTarget {
  /** The gateway's PUBLIC_URL without a trailing slash: redirect, logout and back-channel URLs hang off it. */
  publicUrl: string;
  /** OIDC_CLIENT_ID: the confidential client the gateway signs users in with. */
  clientId: string;
  /** OIDC_AUDIENCE: what the audience mapper puts into `aud`. */
  audience: string;
  /** ROLE_VIEWER, ROLE_UPLOADER, ROLE_ADMIN. */
  roles: string[];
  /** Put the group names into a `groups` claim (group-membership mapper). */
  groupsMapper: boolean;
  /** The public OHIF viewer client (Bearer mode), when wanted. */
  ohifClientId: string | undefined;
  /** SMART_CLIENTS: the clients that get the optional patient scope (none: no SMART setup). */
  smartClients?: string[];
  /** SMART_PATIENT_CLAIM: the claim the patient scope's mapper writes (default `patient`). */
  patientClaim?: string;
  /** The FHIR audit transport's service-account client (AUDIT_FHIR_CLIENT_ID), when wanted. */
  auditClient?: AuditClientTarget | undefined;
}

export interface AuditClientTarget {
  /** AUDIT_FHIR_CLIENT_ID */
  clientId: string;
  /** The audience the FHIR audit server checks (a custom audience mapper), if any. */
  audience: string | undefined;
  /** AUDIT_FHIR_SCOPE: client scopes optional on the client, so the client credentials grant may ask for them. */
  scopes: string[];
}

/** A client as wanted: its representation (without mappers) and its own protocol mappers. */
export interface WantedClient {
  representation: ClientRepresentation & { clientId: string };
  mappers: ProtocolMapperRepresentation[];
  /** The gateway variable its secret goes into (confidential clients). */
  secretVariable?: string;
}

/** A realm client scope as wanted: its representation, its mappers and the clients it is optional on. */
export interface WantedClientScope {
  representation: ClientScopeRepresentation & { name: string };
  mappers: ProtocolMapperRepresentation[];
  optionalOn: string[];
  /** The user attribute its mapper reads: declared in the realm's user profile so Keycloak keeps and maps it. */
  userAttribute?: string;
}

export interface WantedState {
  roles: string[];
  clients: WantedClient[];
  clientScopes: WantedClientScope[];
}

/** The SMART Imaging Access scope a patient app asks for, and the user attribute holding the DICOM Patient ID. */
export const SMART_PATIENT_SCOPE = 'patient/ImagingStudy.rs';
export const PATIENT_ID_ATTRIBUTE = 'patient_id';

export const gatewayUrls = (publicUrl: string) => ({
  callback: `${publicUrl}/auth/callback`,
  postLogout: `${publicUrl}${SIGNED_OUT_PATH}`,
  /** OHIF's own sign-out (bearer mode, ohif/app-config.bearer.js) returns to the viewer. */
  ohifPostLogout: `${publicUrl}/`,
  backchannelLogout: `${publicUrl}/auth/backchannel-logout`,
  ohifRedirects: [`${publicUrl}/callback`, `${publicUrl}/silent-refresh.html`],
  origin: new URL(publicUrl).origin,
});

/** Flows every client of the gateway has off: nothing but the authorization code flow. */
const NO_OTHER_FLOWS = {
  implicitFlowEnabled: false,
  directAccessGrantsEnabled: false,
  serviceAccountsEnabled: false,
  consentRequired: false,
  frontchannelLogout: false,
} as const;
const NO_OTHER_GRANTS = { 'oauth2.device.authorization.grant.enabled': 'false', 'oidc.ciba.grant.enabled': 'false' };

/** `aud` = the gateway's audience; without it Keycloak's access tokens say `aud: account` and the gateway refuses them. */
export function audienceMapper(audience: string): ProtocolMapperRepresentation {
  return {
    name: `audience ${audience}`,
    protocol: 'openid-connect',
    protocolMapper: 'oidc-audience-mapper',
    config: {
      'included.client.audience': audience,
      'id.token.claim': 'false',
      'access.token.claim': 'true',
      'introspection.token.claim': 'true',
    },
  };
}

export function groupsMapper(): ProtocolMapperRepresentation {
  return {
    name: 'groups',
    protocol: 'openid-connect',
    protocolMapper: 'oidc-group-membership-mapper',
    config: {
      'full.path': 'false',
      'claim.name': 'groups',
      'access.token.claim': 'true',
      'id.token.claim': 'false',
      'userinfo.token.claim': 'false',
      'introspection.token.claim': 'true',
      'lightweight.claim': 'false',
    },
  };
}

function clientMappers(target: GatewayTarget): ProtocolMapperRepresentation[] {
  return [audienceMapper(target.audience), ...(target.groupsMapper ? [groupsMapper()] : [])];
}

/** The gateway's confidential client: code flow with PKCE S256, exact URLs, back-channel logout with `sid`. */
export function gatewayClient(target: GatewayTarget): WantedClient {
  const urls = gatewayUrls(target.publicUrl);
  return {
    representation: {
      clientId: target.clientId,
      enabled: true,
      protocol: 'openid-connect',
      publicClient: false,
      bearerOnly: false,
      clientAuthenticatorType: 'client-secret',
      standardFlowEnabled: true,
      ...NO_OTHER_FLOWS,
      redirectUris: [urls.callback],
      webOrigins: [],
      attributes: {
        'pkce.code.challenge.method': 'S256',
        'post.logout.redirect.uris': urls.postLogout,
        'backchannel.logout.url': urls.backchannelLogout,
        'backchannel.logout.session.required': 'true',
        'backchannel.logout.revoke.offline.tokens': 'false',
        ...NO_OTHER_GRANTS,
      },
    },
    mappers: clientMappers(target),
    secretVariable: 'OIDC_CLIENT_SECRET',
  };
}

/** OHIF in Bearer mode signs in itself: a public client, PKCE S256, its two redirect URIs, CORS for the gateway's origin. */
export function ohifClient(target: GatewayTarget, clientId: string): WantedClient {
  const urls = gatewayUrls(target.publicUrl);
  return {
    representation: {
      clientId,
      enabled: true,
      protocol: 'openid-connect',
      publicClient: true,
      bearerOnly: false,
      standardFlowEnabled: true,
      ...NO_OTHER_FLOWS,
      redirectUris: urls.ohifRedirects,
      webOrigins: [urls.origin],
      attributes: {
        'pkce.code.challenge.method': 'S256',
        'post.logout.redirect.uris': urls.ohifPostLogout,
        ...NO_OTHER_GRANTS,
      },
    },
    mappers: clientMappers(target),
  };
}

/** The user attribute's values as the patient claim, in the access token and the introspection answer only. */
export function patientMapper(claim: string): ProtocolMapperRepresentation {
  return {
    name: 'patient',
    protocol: 'openid-connect',
    protocolMapper: 'oidc-usermodel-attribute-mapper',
    config: {
      'user.attribute': PATIENT_ID_ATTRIBUTE,
      'claim.name': claim,
      'jsonType.label': 'String',
      multivalued: 'false',
      'access.token.claim': 'true',
      'introspection.token.claim': 'true',
      'id.token.claim': 'false',
      'userinfo.token.claim': 'false',
      'lightweight.claim': 'false',
    },
  };
}

/**
 * `patient/ImagingStudy.rs` as an optional scope of the SMART clients: an app asking for it gets it
 * in the token's `scope` claim (include.in.token.scope) and the user's Patient ID in the patient claim.
 */
export function smartPatientScope(smartClients: string[], patientClaim: string): WantedClientScope {
  return {
    representation: {
      name: SMART_PATIENT_SCOPE,
      description: 'SMART Imaging Access: read and search the signed-in patient\'s studies through the Orthanc gateway',
      protocol: 'openid-connect',
      attributes: { 'include.in.token.scope': 'true', 'display.on.consent.screen': 'true' },
    },
    mappers: [patientMapper(patientClaim)],
    optionalOn: smartClients,
    userAttribute: PATIENT_ID_ATTRIBUTE,
  };
}

/** `aud` = what the FHIR audit server checks: a name of its own, not necessarily a client of the realm. */
function customAudienceMapper(audience: string): ProtocolMapperRepresentation {
  return {
    name: `audience ${audience}`,
    protocol: 'openid-connect',
    protocolMapper: 'oidc-audience-mapper',
    config: { 'included.custom.audience': audience, 'id.token.claim': 'false', 'access.token.claim': 'true', 'introspection.token.claim': 'true' },
  };
}

/**
 * The FHIR audit transport's client: confidential, the service account (client credentials grant)
 * and nothing else; no browser ever signs in with it, so no redirect URIs or web origins.
 */
export function auditClient({ clientId, audience }: AuditClientTarget): WantedClient {
  return {
    representation: {
      clientId,
      enabled: true,
      protocol: 'openid-connect',
      publicClient: false,
      bearerOnly: false,
      clientAuthenticatorType: 'client-secret',
      ...NO_OTHER_FLOWS,
      standardFlowEnabled: false,
      serviceAccountsEnabled: true,
      redirectUris: [],
      webOrigins: [],
      attributes: { ...NO_OTHER_GRANTS },
    },
    mappers: audience ? [customAudienceMapper(audience)] : [],
    secretVariable: 'AUDIT_FHIR_CLIENT_SECRET',
  };
}

/**
 * A scope of AUDIT_FHIR_SCOPE (e.g. `system/AuditEvent.c`), optional on the audit client and named
 * in the token's `scope`. Only fields Keycloak's built-in scopes share, so naming one (`profile`)
 * binds it without changing it.
 */
export function auditScope(name: string, clientId: string): WantedClientScope {
  return {
    representation: { name, protocol: 'openid-connect', attributes: { 'include.in.token.scope': 'true' } },
    mappers: [],
    optionalOn: [clientId],
  };
}

export function wantedState(target: GatewayTarget): WantedState {
  const smartClients = target.smartClients ?? [];
  const audit = target.auditClient;
  return {
    roles: target.roles,
    clients: [gatewayClient(target), ...(target.ohifClientId ? [ohifClient(target, target.ohifClientId)] : []), ...(audit ? [auditClient(audit)] : [])],
    clientScopes: [
      ...(smartClients.length > 0 ? [smartPatientScope(smartClients, target.patientClaim ?? 'patient')] : []),
      ...(audit ? audit.scopes.map((name) => auditScope(name, audit.clientId)) : []),
    ],
  };
}
