import type { ClientRequest, IncomingMessage } from 'node:http';
import type { RequestHandler } from 'express';
import type { Config } from '../config/config.js';
import { GatewayError } from '../errors.js';
import type { Route } from '../policy/routes.js';
import { requestState } from '../respond/request-state.js';

const tooLarge = new WeakSet<IncomingMessage>();

/** Uploads: STOW-RS, and an admin posting DICOM files to Orthanc's /instances (Explorer's upload). */
function isUpload(route: Route | undefined, method: string): boolean {
  if (method !== 'POST' || !route) return false;
  return route.class === 'dicomweb-store' || (route.class === 'admin' && route.upstreamPath === '/instances');
}

/**
 * Request body limits, checked before anything is forwarded: a declared Content-Length above the
 * limit is refused at once (413); other routes than uploads must declare their length (411);
 * chunked uploads are counted while they stream (see countStreamedBody).
 */
export function limitRequestBody(limits: Config['bodyLimits']): RequestHandler {
  return (req, res, next) => {
    const upload = isUpload(requestState(res).route, req.method);
    const max = upload ? limits.uploadBytes : limits.otherBytes;
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > max) {
      throw new GatewayError('payload_too_large', `The request body exceeds ${max} bytes`);
    }
    if (declared === undefined && req.headers['transfer-encoding'] !== undefined) {
      if (!upload) throw new GatewayError('length_required', 'Send a Content-Length with this request body');
      requestState(res).streamedBodyLimit = max;
    }
    next();
  };
}

/**
 * Called once the body is being piped upstream: stops a chunked upload that grows past its limit
 * (the upstream request is aborted and the proxy's error path answers 413).
 */
export function countStreamedBody(req: IncomingMessage, proxyReq: ClientRequest, max: number | undefined): void {
  if (max === undefined) return;
  let seen = 0;
  req.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > max && !tooLarge.has(req)) {
      tooLarge.add(req);
      req.unpipe(proxyReq);
      proxyReq.destroy(new Error('request body too large'));
    }
  });
}

export const bodyWasTooLarge = (req: IncomingMessage) => tooLarge.has(req);
