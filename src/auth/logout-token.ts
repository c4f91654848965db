import { jwtVerify } from 'jose';
import { ACCEPTED_ALGORITHMS } from './bearer.js';
import type { IssuerKeys } from './issuer-keys.js';
import type { SharedState } from './shared-state.js';

const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
const MAX_AGE_SECONDS = 300;
/**
 * Keycloak 25+ (and oidc-provider) type logout tokens so; OpenID Back-Channel Logout 1.0 §2.4 says
 * they SHOULD be. Required: an untyped token (Keycloak 24 and older) or one typed `JWT` could be an
 * access or ID token of the same issuer and audience, and must never end sessions.
 */
const LOGOUT_TOKEN_TYPE = 'logout+jwt';

export class InvalidLogoutToken extends Error {
  override name = 'InvalidLogoutToken';
}

export interface LogoutTarget {
  sid: string | undefined;
  sub: string | undefined;
}

/**
 * Validates an OpenID Back-Channel Logout token: header typ `logout+jwt`, signature (issuer JWKS),
 * iss, aud = our client, fresh iat, the logout event, sid and/or sub, no nonce, and a jti never seen before (replays of a
 * captured token are refused, across replicas through the shared state).
 */
export function createLogoutTokenValidator(options: { issuer: string; clientId: string; keys: IssuerKeys; state: SharedState }) {
  return async function validate(token: string): Promise<LogoutTarget> {
    let payload;
    try {
      ({ payload } = await jwtVerify(token, await options.keys.get(), {
        issuer: options.issuer,
        audience: options.clientId,
        algorithms: ACCEPTED_ALGORITHMS,
        maxTokenAge: MAX_AGE_SECONDS,
        clockTolerance: 30,
        requiredClaims: ['iat', 'jti'],
        typ: LOGOUT_TOKEN_TYPE,
      }));
    } catch (error) {
      throw new InvalidLogoutToken(`logout token rejected: ${(error as Error).message}`);
    }
    const events = payload['events'];
    if (typeof events !== 'object' || events === null || !(BACKCHANNEL_LOGOUT_EVENT in events)) {
      throw new InvalidLogoutToken('logout token without the back-channel logout event');
    }
    if ('nonce' in payload) throw new InvalidLogoutToken('logout token must not carry a nonce');
    const sid = typeof payload['sid'] === 'string' ? payload['sid'] : undefined;
    const sub = typeof payload.sub === 'string' ? payload.sub : undefined;
    if (!sid && !sub) throw new InvalidLogoutToken('logout token names neither sid nor sub');
    const firstUse = await options.state.setIfAbsent(`logout-jti:${payload.jti}`, '1', (MAX_AGE_SECONDS + 60) * 1000);
    if (!firstUse) throw new InvalidLogoutToken('logout token replayed');
    return { sid, sub };
  };
}
