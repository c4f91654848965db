import type { RequestHandler } from 'express';
import { isPageRequest } from '../respond/browser-request.js';

/**
 * One host for browsers. Sign-in keeps its state in a cookie of the host that started it, and the
 * identity provider always returns to PUBLIC_URL: a page opened under another name of the site
 * (127.0.0.1 for localhost, a short host name, an old domain) would end on "Sign-in expired". Such
 * page loads are sent to the same path on PUBLIC_URL before anything else happens.
 */

/** Paths that are never pages: the DICOMweb API, the sign-in machinery after its start, ops. */
const NOT_PAGES = [/^\/pacs(\/|$)/, /^\/auth\/(?!login$)/, /^\/(healthz|readyz|metrics)$/];

export interface PageLoad {
  /** The Host the browser used (behind a trusted proxy: the one it forwarded). */
  host: string | undefined;
  /** The request target exactly as received (path and query). */
  target: string;
  /** A browser page load (GET/HEAD asking for a document), without an Authorization header. */
  isPage: boolean;
}

const DEFAULT_PORT: Record<string, string> = { 'http:': '80', 'https:': '443' };

/** `Host` compared the way browsers compare origins: case-insensitive, the scheme's default port left out. */
function sameHost(host: string, publicUrl: URL): boolean {
  const lower = host.toLowerCase();
  const withoutDefaultPort = lower.endsWith(`:${DEFAULT_PORT[publicUrl.protocol]}`) ? lower.slice(0, lower.lastIndexOf(':')) : lower;
  return withoutDefaultPort === publicUrl.host;
}

/**
 * Where to send a page load that arrived on another host than PUBLIC_URL's, or undefined to serve it.
 * The target is PUBLIC_URL plus the request's own path: nothing of the Host header goes into it, and
 * a target that is not a plain origin-relative path (`//evil`, `/\evil`, absolute-form) is left to the
 * stages that refuse it.
 */
export function canonicalHostRedirect(load: PageLoad, publicUrl: string): string | undefined {
  if (!load.isPage || !load.host) return undefined;
  const { target } = load;
  if (!target.startsWith('/') || target.startsWith('//') || /[\\\u0000-\u0020\u007f]/.test(target)) return undefined;
  const path = target.split('?', 1)[0]!;
  if (NOT_PAGES.some((pattern) => pattern.test(path))) return undefined;
  const base = new URL(publicUrl);
  if (sameHost(load.host, base)) return undefined;
  return `${publicUrl.replace(/\/+$/, '')}${target}`;
}

/** The last X-Forwarded-Host entry: the one the trusted proxy directly in front added. */
function forwardedHost(value: string | undefined): string | undefined {
  const last = value?.split(',').at(-1)?.trim();
  return last ? last : undefined;
}

/** Redirects page loads on another host to PUBLIC_URL (302: a later PUBLIC_URL change must not be stuck in caches). */
export function redirectToPublicHost(publicUrl: string, trustProxy: boolean): RequestHandler {
  return (req, res, next) => {
    const host = (trustProxy ? forwardedHost(req.get('x-forwarded-host')) : undefined) ?? req.get('host');
    const isPage = isPageRequest(req) && req.get('authorization') === undefined;
    const location = canonicalHostRedirect({ host, target: req.originalUrl, isPage }, publicUrl);
    if (location === undefined) return next();
    res.set('cache-control', 'no-store').redirect(302, location);
  };
}
