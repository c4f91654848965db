/**
 * The failed-authentication limit (in memory, no Redis): 401 answers are counted per client address
 * when the response finishes, and an address over the limit is refused (429) before anything else.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from '@jest/globals';
import type { Request, Response } from 'express';
import { GatewayError } from '../../../src/errors.js';
import { createRateLimits } from '../../../src/request/rate-limit.js';

function exchange(ip: string): { req: Request; res: Response & EventEmitter } {
  const req = { ip } as Request;
  const res = Object.assign(new EventEmitter(), { req, statusCode: 200, headers: {} as Record<string, string>, setHeader(name: string, value: string) { this.headers[name] = value; } });
  return { req, res: res as unknown as Response & EventEmitter };
}

/** Runs the stage; the response finishes with `status` if the stage let the request through. */
function pass(limit: ReturnType<typeof createRateLimits>['limitAuthFailures'], ip: string, status: number): 'next' | GatewayError {
  const { req, res } = exchange(ip);
  try {
    let passed = false;
    limit(req, res, () => void (passed = true));
    expect(passed).toBe(true);
    res.statusCode = status;
    res.emit('finish');
    return 'next';
  } catch (error) {
    return error as GatewayError;
  }
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('limitAuthFailures', () => {
  it('blocks an address after too many 401s, not other addresses, and never for other statuses', async () => {
    const { limitAuthFailures } = createRateLimits({ loginPerMinute: 10, authFailuresPerMinute: 3 }, undefined);
    for (let i = 0; i < 5; i++) expect(pass(limitAuthFailures, '10.0.0.9', 403)).toBe('next');
    for (let i = 0; i < 3; i++) expect(pass(limitAuthFailures, '10.0.0.1', 401)).toBe('next');
    await settle();
    const refused = pass(limitAuthFailures, '10.0.0.1', 200);
    expect(refused).toBeInstanceOf(GatewayError);
    expect((refused as GatewayError).code).toBe('too_many_requests');
    expect(pass(limitAuthFailures, '10.0.0.2', 401)).toBe('next');
    expect(pass(limitAuthFailures, '10.0.0.9', 200)).toBe('next');
  });

  it('adds one shared listener per response', () => {
    const { limitAuthFailures } = createRateLimits({ loginPerMinute: 10, authFailuresPerMinute: 3 }, undefined);
    const first = exchange('10.0.0.3');
    const second = exchange('10.0.0.4');
    limitAuthFailures(first.req, first.res, () => undefined);
    limitAuthFailures(second.req, second.res, () => undefined);
    expect(first.res.listeners('finish')).toHaveLength(1);
    expect(first.res.listeners('finish')[0]).toBe(second.res.listeners('finish')[0]);
  });
});
