import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import { GatewayError, type ErrorBody, type ErrorCode } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { isBrowserNavigation } from './browser-request.js';
import { sendErrorPage } from './error-page.js';
import { PAGES, type GatewayPage } from './gateway-pages.js';
import { requestState } from './request-state.js';

/** Errors a person loading a page (Orthanc Explorer, the sign-in) meets for a while: they get a page, not JSON. */
const PAGE_BY_CODE: Partial<Record<ErrorCode, GatewayPage>> = {
  too_many_requests: PAGES.rateLimited,
  bad_gateway: PAGES.temporarilyUnavailable,
  service_unavailable: PAGES.temporarilyUnavailable,
  gateway_timeout: PAGES.temporarilyUnavailable,
};

/**
 * Writes the `{error, message, requestId}` body, or for a browser's page load (no Bearer token) of a
 * passing trouble the gateway's page; aborts the connection if a response already started.
 */
export function sendError(res: Response, error: GatewayError): void {
  requestState(res).error = error; // for metrics and the audit trail
  if (res.headersSent) {
    res.destroy();
    return;
  }
  for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
  const page = PAGE_BY_CODE[error.code];
  const req: Request | undefined = res.req; // absent on responses built outside Express (unit tests)
  if (page && req && isBrowserNavigation(req) && req.get('authorization') === undefined) return sendErrorPage(res, page, { status: error.status });
  const body: ErrorBody = { error: error.code, message: error.message, requestId: requestState(res).requestId };
  res.status(error.status).json(body);
}

function httpStatusOf(error: unknown): number | undefined {
  const status = (error as { status?: unknown; statusCode?: unknown } | null)?.status ?? (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** Errors thrown by Express itself or its parsers carry an HTTP status; keep 4xx meanings, hide 5xx details. */
function toGatewayError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  const status = httpStatusOf(error);
  if (status === 413) return new GatewayError('payload_too_large', 'The request body is too large');
  if (status !== undefined && status >= 400 && status < 500) return new GatewayError('bad_request', 'The request is malformed');
  return new GatewayError('internal_error', 'Unexpected error in the gateway');
}

export const notFound: RequestHandler = (_req, _res, next) => {
  next(new GatewayError('not_found', 'No such route'));
};

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    const gatewayError = toGatewayError(error);
    if (gatewayError.status >= 500) {
      logger.error({ err: error, requestId: requestState(res).requestId, method: req.method, path: req.path }, 'request failed');
    }
    sendError(res, gatewayError);
  };
}
