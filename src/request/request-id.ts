import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import { requestState } from '../respond/request-state.js';

/** Every response carries an X-Request-Id; the id is always ours, never taken from the client. */
export const assignRequestId: RequestHandler = (_req, res, next) => {
  const requestId = randomUUID();
  requestState(res).requestId = requestId;
  res.setHeader('x-request-id', requestId);
  next();
};
