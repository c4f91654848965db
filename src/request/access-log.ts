import type { RequestHandler } from 'express';
import type { Logger } from '../observability/logger.js';
import { requestState } from '../respond/request-state.js';

/** One line per request. Paths only: query strings may carry patient names, headers may carry tokens. */
export function accessLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    const path = req.path; // read now: the proxy stage rewrites req.url to Orthanc's path
    res.on('close', () => {
      const state = requestState(res);
      logger.info(
        {
          requestId: state.requestId,
          method: req.method,
          path,
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
