/** The dev IdP's few HTML pages: plain, self-contained (no external fonts or scripts), escaped. */
import type { KoaContextWithOIDC } from 'oidc-provider';

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE =
  'body{font-family:system-ui,sans-serif;background:#f4f4f6;margin:0}main{max-width:22rem;margin:4rem auto;background:#fff;' +
  'padding:1.5rem 2rem;border-radius:6px;box-shadow:0 1px 3px #0003}label{display:block;margin:.8rem 0 .2rem}' +
  'input{width:100%;box-sizing:border-box;padding:.5rem}button{margin-top:1rem;width:100%;padding:.6rem}' +
  '.error{color:#b00020}.dev{font-size:.8rem;color:#8a5a00;background:#fff4d6;padding:.4rem;border-radius:4px}';

/** `body` must already be escaped. */
export function htmlPage(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body><main><h1>${escapeHtml(title)}</h1>${body}
<p class="dev">Development identity provider: never use it in production.</p></main></body></html>`;
}

export interface LoginPageOptions {
  action: string;
  realmName: string;
  clientId: string;
  username?: string | undefined;
  error?: string | undefined;
}

export function loginPage({ action, realmName, clientId, username, error }: LoginPageOptions): string {
  return htmlPage(
    `Sign in to ${realmName}`,
    `<p>for <strong>${escapeHtml(clientId)}</strong></p>
${error ? `<p class="error" role="alert" id="login-error">${escapeHtml(error)}</p>` : ''}
<form method="post" action="${escapeHtml(action)}" id="kc-form-login">
<label for="username">Username or email</label>
<input id="username" name="username" autocomplete="username" autofocus required value="${escapeHtml(username ?? '')}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit" id="kc-login">Sign in</button>
</form>`,
  );
}

export function renderMessagePage(ctx: KoaContextWithOIDC, title: string, message: string): void {
  ctx.type = 'html';
  ctx.body = htmlPage(title, `<p>${escapeHtml(message)}</p>`);
}

/**
 * oidc-provider asks for a confirmation before RP-initiated logout. Keycloak signs out without one
 * when the RP sent `id_token_hint`: the page then submits itself (browsers); without script, the
 * button does it.
 */
export function renderLogoutConfirm(ctx: KoaContextWithOIDC, form: string): void {
  const auto = ctx.oidc.params?.['id_token_hint'] ? '<script>document.getElementById("logout-yes").click()</script>' : '';
  ctx.type = 'html';
  ctx.body = htmlPage(
    'Sign out',
    `<p>Do you want to sign out?</p>${form}
<button type="submit" form="op.logoutForm" name="logout" value="yes" id="logout-yes">Sign out</button>${auto}`,
  );
}
