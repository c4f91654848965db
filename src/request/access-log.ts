import type { Request, Response } from 'express';
import { jsonString, writeInfoLine, writesPlainLines } from '../observability/log-line.js';
import type { Logger } from '../observability/logger.js';
import type { RequestState } from '../respond/request-state.js';

export type AccessLogger = (req: Request, res: Response, state: RequestState, durationMs: number) => void;

/**
 * One line per request, written when it ends (observe.ts). Paths only: query strings may carry patient names, headers may carry tokens.
 * None of its keys is a redaction path, serializer or nested object (logger.ts), so when the logger writes plain
 * lines it is built as one string, byte for byte what `logger.info(object, 'request')` writes (tests/unit/request/access-log.test.ts).
 */
export function accessLogger(logger: Logger): AccessLogger {
  if (!writesPlainLines(logger)) return (req, res, state, durationMs) => logAccess(logger, req, res, state, durationMs);
  return (req, res, state, durationMs) => {
    const routeClass = state.route?.class;
    const user = state.principal?.username;
    writeInfoLine(
      logger,
      `,"requestId":${jsonString(state.requestId)},"method":${jsonString(req.method)},"path":${jsonString(state.receivedPath)},"status":${res.statusCode}` +
        `${routeClass === undefined ? '' : `,"routeClass":${jsonString(routeClass)}`}${user === undefined ? '' : `,"user":${jsonString(user)}`}` +
        `,"durationMs":${durationMs},"aborted":${!res.writableFinished}`,
      '"request"',
    );
  };
}

/** The access line through pino's object walk: for loggers that do more than write plain lines. */
export function logAccess(logger: Logger, req: Request, res: Response, state: RequestState, durationMs: number): void {
  logger.info(
    {
      requestId: state.requestId,
      method: req.method,
      path: state.receivedPath,
      status: res.statusCode,
      routeClass: state.route?.class,
      user: state.principal?.username,
      durationMs,
      aborted: !res.writableFinished,
    },
    'request',
  );
}
