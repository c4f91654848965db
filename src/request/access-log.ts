import type { Request, Response } from 'express';
import type { Logger } from '../observability/logger.js';
import type { RequestState } from '../respond/request-state.js';

/** One line per request, written when it ends (observe.ts). Paths only: query strings may carry patient names, headers may carry tokens. */
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
