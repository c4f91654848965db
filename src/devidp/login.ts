/**
 * The dev IdP's interaction pages, driven by oidc-provider's interaction API: a username + password
 * form for the `login` prompt; the `consent` prompt is granted automatically (first-party clients,
 * as Keycloak's `consentRequired: false`).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import type Provider from 'oidc-provider';
import { escapeHtml, htmlPage, loginPage } from './pages.js';
import { findUserByLogin, type DevRealm, type DevUser } from './realm.js';

export interface LoginDeps {
  /** Current provider and realm (both are replaced when keys rotate or clients change). */
  provider: () => Provider;
  realm: () => DevRealm;
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/** The enabled user whose password matches, compared in constant time. */
export function authenticate(realm: DevRealm, login: string, password: string): DevUser | undefined {
  const user = findUserByLogin(realm, login);
  const expected = user?.password ?? '\u0000no password\u0000';
  const matches = timingSafeEqual(digest(password), digest(expected));
  return user?.enabled && user.password !== undefined && matches ? user : undefined;
}

const stringList = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];

/** Grants whatever the consent prompt reports missing: scopes, claims and resource scopes. */
async function grantConsent(provider: Provider, req: Request, res: Response): Promise<void> {
  const interaction = await provider.interactionDetails(req, res);
  const { details } = interaction.prompt;
  const accountId = interaction.session?.accountId;
  const clientId = interaction.params['client_id'];
  if (!accountId || typeof clientId !== 'string') throw new Error('consent without a logged-in session');

  const grant = interaction.grantId
    ? await provider.Grant.find(interaction.grantId)
    : new provider.Grant({ accountId, clientId });
  if (!grant) throw new Error('grant of the interaction not found');
  grant.addOIDCScope(stringList(details['missingOIDCScope']));
  grant.addOIDCClaims(stringList(details['missingOIDCClaims']));
  const resourceScopes = details['missingResourceScopes'];
  if (resourceScopes && typeof resourceScopes === 'object') {
    for (const [indicator, scopes] of Object.entries(resourceScopes)) {
      grant.addResourceScope(indicator, stringList(scopes));
    }
  }
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

export function createLoginRouter({ provider, realm }: LoginDeps): Router {
  const router = express.Router();
  const render = (req: Request, res: Response, clientId: string, username?: string, error?: string) => {
    res
      .status(200)
      .type('html')
      .set('cache-control', 'no-store')
      .send(
        loginPage({
          action: `${req.baseUrl}/${encodeURIComponent(String(req.params['uid']))}/login`,
          realmName: realm().name,
          clientId,
          username,
          error,
        }),
      );
  };

  router.get('/:uid', async (req, res, next) => {
    try {
      const interaction = await provider().interactionDetails(req, res);
      if (interaction.prompt.name === 'consent') {
        await grantConsent(provider(), req, res);
        return;
      }
      const hint = interaction.params['login_hint'];
      render(req, res, String(interaction.params['client_id']), typeof hint === 'string' ? hint : undefined);
    } catch (error) {
      next(error);
    }
  });

  router.post('/:uid/login', express.urlencoded({ extended: false, limit: '8kb' }), async (req, res, next) => {
    try {
      const interaction = await provider().interactionDetails(req, res);
      if (interaction.prompt.name !== 'login') {
        res.status(400).type('html').send(htmlPage('Sign in', '<p>This sign-in step is no longer expected.</p>'));
        return;
      }
      const body = (req.body ?? {}) as Record<string, unknown>;
      const username = typeof body['username'] === 'string' ? body['username'] : '';
      const password = typeof body['password'] === 'string' ? body['password'] : '';
      const user = authenticate(realm(), username, password);
      if (!user) {
        render(req, res, String(interaction.params['client_id']), username, 'Invalid username or password.');
        return;
      }
      await provider().interactionFinished(
        req,
        res,
        { login: { accountId: user.id, amr: ['pwd'] } },
        { mergeWithLastSubmission: false },
      );
    } catch (error) {
      next(error);
    }
  });

  // Expired or unknown interaction (cookie missing, login page reloaded much later, …).
  router.use((error: unknown, _req: Request, res: Response, _next: express.NextFunction) => {
    const message = error instanceof Error ? error.message : String(error);
    res
      .status(400)
      .type('html')
      .send(htmlPage('Sign in', `<p>The sign-in request cannot continue (${escapeHtml(message)}). Start again from the application.</p>`));
  });

  return router;
}
