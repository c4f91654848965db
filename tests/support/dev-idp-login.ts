import * as oidc from 'openid-client';
import { Browser, left } from './http-browser.js';

export interface CodeFlowLogin {
  issuer: string;
  clientId: string;
  clientSecret: string | undefined;
  /** A redirect URI the client registered; the flow stops there (nothing needs to listen on it). */
  redirectUri: string;
  username: string;
  password: string;
  /** Scopes to ask for (default `openid profile email`). */
  scope?: string;
}

/** Signs a user in through the dev IdP's login form (code + PKCE) and returns the token response. */
export async function signInWithCodeFlow(login: CodeFlowLogin) {
  const client = await oidc.discovery(new URL(login.issuer), login.clientId, login.clientSecret, undefined, {
    execute: [oidc.allowInsecureRequests],
  });
  const codeVerifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(client, {
    redirect_uri: login.redirectUri,
    scope: login.scope ?? 'openid profile email',
    code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
  });
  const callback = left(await new Browser().login(url, login.username, login.password, [login.redirectUri]));
  return oidc.authorizationCodeGrant(client, callback, { pkceCodeVerifier: codeVerifier, expectedState: state });
}
