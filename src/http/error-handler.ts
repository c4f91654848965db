import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { GatewayError, type ErrorBody } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { requestState } from './locals.js';

/** Writes the `{error, message, requestId}` body; aborts the connection if a response already started. */
export function sendError(res: Response, error: GatewayError): void {
  requestState(res).error = error; // for metrics and the audit trail
  if (res.headersSent) {
    res.destroy();
    return;
  }
  for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
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
