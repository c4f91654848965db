import { createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
import { contentSecurityPolicy } from 'helmet';

/** A CSP hash source for an inline script (or inline event handler) exactly as the page carries it. */
const sha256Source = (script: string) => `'sha256-${createHash('sha256').update(script, 'utf8').digest('base64')}'`;

/** Hash sources of a page's inline `<script>` blocks (OHIF's index.html sets `window.PUBLIC_URL` in two). */
export function inlineScriptHashes(html: string): string[] {
  return [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)]
    .filter(([, attributes = '', body = '']) => !/\bsrc\s*=/i.test(attributes) && body !== '')
    .map(([, , body = '']) => sha256Source(body));
}

export interface ViewerPolicyOptions {
  /** OHIF's index.html: its inline scripts are allowed by hash, no other inline script runs. */
  indexHtml: string;
  /**
   * The IdP's origin, when OHIF signs in itself (VIEWER_ACCESS=public): it fetches discovery, keys
   * and tokens there, and may renew tokens in an iframe that passes through it.
   */
  identityProviderOrigin: string | undefined;
}

/**
 * The OHIF viewer's pages. OHIF needs: its own scripts, WebAssembly codecs (`'wasm-unsafe-eval'`,
 * no `'unsafe-eval'`), web workers built from blob: URLs, images and fonts from data:/blob: URLs,
 * and inline styles (React style attributes, styles injected by its libraries).
 */
export function viewerContentSecurityPolicy({ indexHtml, identityProviderOrigin }: ViewerPolicyOptions): RequestHandler {
  const idp = identityProviderOrigin ? [identityProviderOrigin] : [];
  return contentSecurityPolicy({
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'", ...inlineScriptHashes(indexHtml), "'wasm-unsafe-eval'"],
      workerSrc: ["'self'", 'blob:'],
      styleSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", 'data:', 'blob:'],
      fontSrc: ["'self'", 'data:'],
      mediaSrc: ["'self'", 'blob:'],
      connectSrc: ["'self'", ...idp],
      frameSrc: ["'self'", ...idp],
      objectSrc: ["'none'"],
      baseUri: ["'self'"],
      // 'self', not 'none': OHIF's token renewal loads one of its own pages in an iframe.
      frameAncestors: ["'self'"],
    },
  });
}

/**
 * The one inline event handler of Orthanc Explorer (explorer.html, upload page: the "Select files to
 * upload" item opens the file chooser); allowed by hash instead of allowing inline scripts at all.
 */
const EXPLORER_UPLOAD_HANDLER = "$('#fileupload').click()";

/**
 * Orthanc Explorer (`/pacs-admin/app/*`): jQuery Mobile with its scripts and styles on the same
 * origin, data: icons, and an iframe transport for uploads.
 */
export const explorerContentSecurityPolicy: RequestHandler = contentSecurityPolicy({
  useDefaults: false,
  directives: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'", "'unsafe-hashes'", sha256Source(EXPLORER_UPLOAD_HANDLER)],
    styleSrc: ["'self'", "'unsafe-inline'"],
    imgSrc: ["'self'", 'data:', 'blob:'],
    objectSrc: ["'none'"],
    baseUri: ["'self'"],
    formAction: ["'self'"],
    frameAncestors: ["'self'"],
  },
});
