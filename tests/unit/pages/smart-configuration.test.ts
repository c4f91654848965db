/** The SMART configuration document built from the IdP's discovery (src/pages/smart-configuration.ts). */
import { describe, expect, it } from '@jest/globals';
import { smartConfiguration } from '../../../src/pages/smart-configuration.js';

const ISSUER = 'https://sso.example.org/realms/orthanc';

describe('smartConfiguration', () => {
  it('copies the IdP endpoints and states scopes and capabilities', () => {
    const copied = {
      issuer: ISSUER,
      jwks_uri: `${ISSUER}/protocol/openid-connect/certs`,
      authorization_endpoint: `${ISSUER}/protocol/openid-connect/auth`,
      token_endpoint: `${ISSUER}/protocol/openid-connect/token`,
      grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'private_key_jwt'],
    };
    const document = smartConfiguration({ ...copied, userinfo_endpoint: `${ISSUER}/protocol/openid-connect/userinfo` }, { issuer: ISSUER, discoveryUrl: ISSUER });
    expect(document).toEqual({
      ...copied,
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
      scopes_supported: expect.arrayContaining(['patient/ImagingStudy.rs', 'launch/patient', 'openid']),
      capabilities: expect.arrayContaining([
        'smart-imaging-access',
        'http://fhir.org/argonaut/smart-imaging/capabilities/app-launch',
        'permission-patient',
        'context-standalone-patient',
        'permission-v2',
      ]),
    });
  });

  it('publishes endpoints under the public issuer even when the gateway reaches the IdP elsewhere (docker)', () => {
    const inside = 'http://keycloak:8080/realms/orthanc';
    const document = smartConfiguration(
      { issuer: ISSUER, jwks_uri: `${inside}/protocol/openid-connect/certs`, authorization_endpoint: `${ISSUER}/protocol/openid-connect/auth`, token_endpoint: `${inside}/protocol/openid-connect/token`, introspection_endpoint: `${inside}/protocol/openid-connect/token/introspect` },
      { issuer: ISSUER, discoveryUrl: `${inside}/` },
    );
    expect(document).toMatchObject({
      jwks_uri: `${ISSUER}/protocol/openid-connect/certs`,
      token_endpoint: `${ISSUER}/protocol/openid-connect/token`,
      introspection_endpoint: `${ISSUER}/protocol/openid-connect/token/introspect`,
      grant_types_supported: ['authorization_code'],
    });
  });
});
