import type { Request } from 'express';

/** The request's own headers say a browser loads it as a page (not fetch/XHR, not a script or image). */
function wantsPage(req: Request): boolean {
  const mode = req.get('sec-fetch-mode');
  if (mode !== undefined) return mode === 'navigate';
  return (req.get('accept') ?? '').includes('text/html');
}

/** A top-level page load by a browser (as opposed to fetch/XHR or a script). */
export function isBrowserNavigation(req: Request): boolean {
  return req.method === 'GET' && wantsPage(req);
}

/** A page load, or the HEAD of one (link checkers, some browsers' prefetch). */
export function isPageRequest(req: Request): boolean {
  return (req.method === 'GET' || req.method === 'HEAD') && wantsPage(req);
}

/**
 * CSRF defence for cookie-authenticated state changes: the request must come from the gateway's own
 * origin, by its Origin header or, failing that, Sec-Fetch-Site. Neither present → refused.
 */
export function isSameOriginRequest(req: Request, publicOrigin: string): boolean {
  const origin = req.get('origin');
  // Browsers send `Origin: null` for forms under `Referrer-Policy: no-referrer`; then Sec-Fetch-Site decides.
  if (origin !== undefined && origin !== 'null') return origin === publicOrigin;
  return req.get('sec-fetch-site') === 'same-origin';
}

export const isSafeMethod = (method: string) => method === 'GET' || method === 'HEAD' || method === 'OPTIONS';
