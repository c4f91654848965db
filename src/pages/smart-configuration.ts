import { Router } from 'express';
import type { IssuerMetadata, IssuerMetadataSource } from '../auth/issuer.js';
import { GatewayError } from '../errors.js';
import { SMART_CONFIGURATION_PATH } from '../policy/routes.js';

/** The scopes the gateway understands on images (any SMART 2 / 1 spelling of them works, see smart-scopes.ts). */
const SCOPES_SUPPORTED = ['openid', 'fhirUser', 'launch/patient', 'offline_access', 'patient/ImagingStudy.rs', 'user/ImagingStudy.rs', 'system/ImagingStudy.rs', 'user/ImagingStudy.c'];

/**
 * What the gateway itself honours (patient and user scopes, v1 and v2 spellings) and what an app
 * needs to know of the authorization server behind it; `smart-imaging-access` and the App Launch
 * mode URI mark the endpoint as the Argonaut SMART Imaging Access guide asks (its Backend Services
 * mode is not advertised: its discovery needs asymmetric client authentication the gateway does not check).
 */
const CAPABILITIES = [
  'launch-standalone',
  'client-public',
  'client-confidential-symmetric',
  'sso-openid-connect',
  'context-standalone-patient',
  'permission-patient',
  'permission-user',
  'permission-v1',
  'permission-v2',
  'smart-imaging-access',
  'http://fhir.org/argonaut/smart-imaging/capabilities/app-launch',
];

/** Endpoints copied from the IdP's discovery, when it names them. */
const ENDPOINTS = ['authorization_endpoint', 'token_endpoint', 'introspection_endpoint', 'revocation_endpoint', 'jwks_uri'] as const;

const withoutTrailingSlash = (url: string) => url.replace(/\/+$/, '');

/**
 * The SMART configuration document from the IdP's OpenID discovery. The gateway reaches the IdP at
 * OIDC_DISCOVERY_URL and rewrites back-channel endpoints there (issuer.ts); apps need the public
 * ones, under OIDC_ISSUER, so that rewrite is undone here.
 */
export function smartConfiguration(metadata: IssuerMetadata, { issuer, discoveryUrl }: { issuer: string; discoveryUrl: string }): Record<string, unknown> {
  const issuerBase = withoutTrailingSlash(issuer);
  const discoveryBase = withoutTrailingSlash(discoveryUrl);
  const publicUrl = (value: string) => (value.startsWith(`${discoveryBase}/`) ? issuerBase + value.slice(discoveryBase.length) : value);
  const endpoints = Object.fromEntries(
    ENDPOINTS.flatMap((name) => (typeof metadata[name] === 'string' ? [[name, publicUrl(metadata[name] as string)]] : [])),
  );
  const strings = (value: unknown, fallback: string[]) => (Array.isArray(value) && value.every((item) => typeof item === 'string') ? value : fallback);
  return {
    issuer: metadata.issuer,
    ...endpoints,
    grant_types_supported: strings(metadata['grant_types_supported'], ['authorization_code']),
    token_endpoint_auth_methods_supported: strings(metadata['token_endpoint_auth_methods_supported'], ['client_secret_basic']),
    response_types_supported: ['code'],
    code_challenge_methods_supported: ['S256'],
    scopes_supported: SCOPES_SUPPORTED,
    capabilities: CAPABILITIES,
  };
}

/** GET /pacs/dicom-web/.well-known/smart-configuration: public, like the IdP's own discovery. */
export function smartConfigurationRoute(metadata: IssuerMetadataSource, oidc: { issuer: string; discoveryUrl: string }): Router {
  const router = Router({ caseSensitive: true, strict: true });
  router.get(SMART_CONFIGURATION_PATH, async (_req, res) => {
    const document = await metadata.get().catch(() => {
      throw new GatewayError('service_unavailable', 'The identity provider cannot be reached for its configuration; try again shortly');
    });
    res.set('cache-control', 'public, max-age=300').json(smartConfiguration(document, oidc));
  });
  return router;
}
