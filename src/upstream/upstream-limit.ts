import type { Request, Response } from 'express';
import { GatewayError } from '../errors.js';
import { sendError } from '../respond/error-handler.js';

/**
 * At most `max` requests at Orthanc at once (ORTHANC_MAX_CONNECTIONS); the others wait here, first
 * come first served, up to `maxWaitMs`, then answer 503.
 *
 * Why: Orthanc serves each connection with one of its HttpThreadsCount threads (50 by default) for
 * as long as the connection lives, and the gateway keeps its connections alive. With more pooled
 * connections than threads, the connections beyond the thread count are accepted by the kernel but
 * never served while the others stay busy (requests hung for ORTHANC_TIMEOUT_MS under load).
 * Waiting here also keeps requests out of the connection pool's own queue, where they would wait
 * without a bound (a request's ORTHANC_TIMEOUT_MS only starts once it has a socket).
 */
export function createUpstreamLimit(max: number, maxWaitMs: number) {
  let active = 0;
  const waiting: Array<() => void> = [];

  const release = () => {
    active -= 1;
    waiting.shift()?.();
  };

  return function limit(_req: Request, res: Response, run: () => void): void {
    const start = () => {
      active += 1;
      // 'close' follows the end of the response and a client that went away alike.
      res.once('close', release);
      run();
    };
    if (active < max) return start();

    const timer = setTimeout(() => {
      dequeue();
      sendError(res, new GatewayError('service_unavailable', 'Orthanc is busy; try again shortly', { 'retry-after': '5' }));
    }, maxWaitMs);
    timer.unref();
    const entry = () => {
      clearTimeout(timer);
      res.off('close', dequeue);
      start();
    };
    const dequeue = () => {
      clearTimeout(timer);
      const index = waiting.indexOf(entry);
      if (index >= 0) waiting.splice(index, 1);
    };
    res.once('close', dequeue); // the client gave up while waiting
    waiting.push(entry);
  };
}

export type UpstreamLimit = ReturnType<typeof createUpstreamLimit>;
