import type { RequestHandler } from 'express';
import type { Logger } from '../observability/logger.js';
import { requestState } from './locals.js';

/** One line per request. Paths only: query strings may carry patient names, headers may carry tokens. */
export function accessLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('close', () => {
      const state = requestState(res);
      logger.info(
        {
          requestId: state.requestId,
          method: req.method,
          path: req.path,
          status: res.statusCode,
          routeClass: state.route?.class,
          user: state.principal?.username,
          durationMs: Number(process.hrtime.bigint() - started) / 1e6,
          aborted: !res.writableFinished,
        },
        'request',
      );
    });
    next();
  };
}
