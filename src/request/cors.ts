import type { RequestHandler } from 'express';
import { GatewayError } from '../errors.js';
import type { NormalizedTarget } from '../policy/normalize.js';
import { requestState } from '../respond/request-state.js';

const ALLOWED_METHODS = 'GET, HEAD, POST, OPTIONS';
const ALLOWED_HEADERS = 'Authorization, Content-Type, Accept';
const EXPOSED_HEADERS = 'Content-Type, Content-Length, Content-Location, Location, X-Request-Id, WWW-Authenticate';

/**
 * Under /pacs/ by the target's one reading (readRequestTarget), so every spelling of it (`/%70acs/…`)
 * is; an unclean target is not, and classify refuses it.
 */
const isUnderPacs = (target: NormalizedTarget | undefined) => target?.ok === true && target.segments[0] === 'pacs' && target.segments.length > 1;

/**
 * CORS for the DICOMweb API (/pacs/*) from the SPA origins in CORS_ORIGINS, for viewers that sign in
 * by themselves and send Bearer tokens. Credentials (cookies) are never allowed cross-origin, so a
 * foreign page can never ride on a browser session. Preflights are answered here, before
 * authentication (and before classify, which would refuse OPTIONS), and never forwarded, for any
 * /pacs/ path; a plain OPTIONS goes on to classify's answer.
 */
export function corsForDicomweb(allowedOrigins: readonly string[]): RequestHandler {
  const allowed = new Set(allowedOrigins);
  return (req, res, next) => {
    if (!isUnderPacs(requestState(res).target)) return next();
    res.vary('Origin');
    const origin = req.get('origin');
    const isPreflight = req.method === 'OPTIONS' && req.get('access-control-request-method') !== undefined;
    if (!origin || !allowed.has(origin)) {
      if (isPreflight) throw new GatewayError('forbidden', 'This origin may not call the DICOMweb API (CORS_ORIGINS)');
      return next();
    }
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Access-Control-Expose-Headers', EXPOSED_HEADERS);
    if (!isPreflight) return next();
    res.setHeader('Access-Control-Allow-Methods', ALLOWED_METHODS);
    res.setHeader('Access-Control-Allow-Headers', ALLOWED_HEADERS);
    res.setHeader('Access-Control-Max-Age', '600');
    res.status(204).end();
  };
}
