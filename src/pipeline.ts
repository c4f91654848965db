import type { Express, NextFunction, Request, RequestHandler, Response } from 'express';

/** Called once the stages are done with the request: with an error to answer, or with none when the last one called `next()`. */
type Finish = (error: unknown, req: Request, res: Response) => void;

/**
 * Runs `stages` in order, connect-style: each calls `next()` to go on or `next(error)` to stop; a
 * thrown error or a rejected promise stops too (as in Express 5). `finish` hears the error, or is
 * called without one when the last stage called `next()`. One closure per request, no router.
 */
export function runStages(stages: readonly RequestHandler[], req: Request, res: Response, finish: Finish): void {
  let index = 0;
  const next: NextFunction = (error?: unknown) => {
    if (error !== undefined) return finish(error, req, res);
    const stage = stages[index++];
    if (!stage) return finish(undefined, req, res);
    try {
      const result: unknown = stage(req, res, next);
      if (result instanceof Promise) result.catch((error: unknown) => finish(error ?? new Error('Rejected promise'), req, res));
    } catch (error) {
      finish(error, req, res);
    }
  };
  next();
}

/**
 * What Express's `app.handle` does to a request before its router sees it, for requests served
 * without the router: both objects linked, the app's prototypes (already in place when node:http
 * created them with expressServerObjects, then a no-op), `res.locals` for the request state.
 */
export function adoptRequest(app: Express, req: Request, res: Response): void {
  if (Object.getPrototypeOf(req) !== app.request) Object.setPrototypeOf(req, app.request);
  if (Object.getPrototypeOf(res) !== app.response) Object.setPrototypeOf(res, app.response);
  req.res = res;
  res.req = req;
  res.locals ??= Object.create(null) as Response['locals'];
}
