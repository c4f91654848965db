/** precomputedHeaders: helmet's headers replayed from one recording, identical to helmet's own. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from '@jest/globals';
import express, { type RequestHandler } from 'express';
import helmet from 'helmet';
import { precomputedHeaders } from '../../../src/request/static-headers.js';

async function headersWith(middleware: RequestHandler): Promise<Record<string, string>> {
  const app = express();
  app.use(middleware);
  app.get('/', (_req, res) => {
    res.json({ ok: true });
  });
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    const headers = Object.fromEntries(response.headers);
    delete headers['date'];
    delete headers['etag'];
    return headers;
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('precomputedHeaders', () => {
  it.each([
    ['http', false as const],
    ['https', { maxAge: 31_536_000 }],
  ])('sets exactly what helmet sets (%s)', async (_scheme, strictTransportSecurity) => {
    const options = { contentSecurityPolicy: false, crossOriginEmbedderPolicy: false, referrerPolicy: { policy: 'same-origin' as const }, strictTransportSecurity };
    const expected = await headersWith(helmet(options));
    expect(await headersWith(precomputedHeaders(helmet(options)))).toEqual(expected);
    expect(expected['x-content-type-options']).toBe('nosniff');
    expect(expected['x-powered-by']).toBeUndefined();
  });

  it('replaces helmet by a replay', () => {
    const middleware = helmet();
    expect(precomputedHeaders(middleware)).not.toBe(middleware);
  });

  it('keeps a middleware that depends on the request, the response or the moment as it is', () => {
    const readsRequest: RequestHandler = (req, res, next) => {
      res.setHeader('x-host', String(req.headers['host']));
      next();
    };
    const readsResponse: RequestHandler = (_req, res, next) => {
      res.setHeader('x-nonce', String(res.locals['nonce']));
      next();
    };
    let counter = 0;
    const perRequestValue: RequestHandler = (_req, res, next) => {
      res.setHeader('content-security-policy', `script-src 'nonce-${counter++}'`);
      next();
    };
    const asynchronous: RequestHandler = (_req, _res, next) => {
      setImmediate(next);
    };
    const failing: RequestHandler = (_req, _res, next) => next(new Error('no'));
    for (const middleware of [readsRequest, readsResponse, perRequestValue, asynchronous, failing]) {
      expect(precomputedHeaders(middleware)).toBe(middleware);
    }
  });
});
