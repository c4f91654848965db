import { EventEmitter } from 'node:events';
import type { Request, Response } from 'express';
import { describe, expect, it } from '@jest/globals';
import { createUpstreamLimit } from '../../../src/upstream/upstream-limit.js';

/** A response that only knows 'close' and what sendError writes. */
function fakeResponse() {
  const res = new EventEmitter() as EventEmitter & { statusCode?: number; body?: unknown; headers: Record<string, string>; headersSent: boolean; locals: Record<string, unknown> };
  Object.assign(res, {
    headers: {},
    headersSent: false,
    locals: {},
    setHeader: (name: string, value: string) => (res.headers[name] = value),
    status: (code: number) => ((res.statusCode = code), res),
    json: (body: unknown) => {
      res.body = body;
      res.emit('close');
      return res;
    },
  });
  return res;
}
const req = {} as Request;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('upstream concurrency limit', () => {
  it('runs at most `max` at once and starts the others first come, first served as slots free up', () => {
    const limit = createUpstreamLimit(2, 10_000);
    const started: number[] = [];
    const responses = Array.from({ length: 5 }, () => fakeResponse());
    responses.forEach((res, index) => limit(req, res as unknown as Response, () => started.push(index)));
    expect(started).toEqual([0, 1]);
    responses[1]!.emit('close');
    expect(started).toEqual([0, 1, 2]);
    responses[0]!.emit('close');
    responses[2]!.emit('close');
    expect(started).toEqual([0, 1, 2, 3, 4]);
  });

  it('forgets a waiting request whose client went away', () => {
    const limit = createUpstreamLimit(1, 10_000);
    const started: string[] = [];
    const [a, b, c] = [fakeResponse(), fakeResponse(), fakeResponse()];
    limit(req, a as unknown as Response, () => started.push('a'));
    limit(req, b as unknown as Response, () => started.push('b'));
    limit(req, c as unknown as Response, () => started.push('c'));
    b.emit('close'); // gave up while waiting
    a.emit('close');
    expect(started).toEqual(['a', 'c']);
  });

  it('answers 503 JSON after waiting too long, without ever running the request', async () => {
    const limit = createUpstreamLimit(1, 30);
    const [a, b] = [fakeResponse(), fakeResponse()];
    let ranB = false;
    limit(req, a as unknown as Response, () => undefined);
    limit(req, b as unknown as Response, () => (ranB = true));
    await sleep(80);
    expect(b.statusCode).toBe(503);
    expect(b.body).toMatchObject({ error: 'service_unavailable' });
    expect(b.headers['retry-after']).toBe('5');
    a.emit('close');
    expect(ranB).toBe(false);
    // The slot is free again.
    let ranC = false;
    limit(req, fakeResponse() as unknown as Response, () => (ranC = true));
    expect(ranC).toBe(true);
  });
});
