import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import pino from 'pino';
import { GatewayError, type ErrorCode } from '../../../src/errors.js';
import { errorHandler } from '../../../src/respond/error-handler.js';
import { requestState } from '../../../src/respond/request-state.js';
import { rawRequest } from '../../support/raw-http.js';

/** A bare Express app whose one route fails with the error code named in the path. */
let server: Server;
let base: string;

beforeAll(async () => {
  const app = express();
  app.use((_req, res, next) => {
    requestState(res).requestId = 'rid-1';
    next();
  });
  app.get('/fail/:code', (req) => {
    throw new GatewayError(req.params['code'] as ErrorCode, 'detail for API clients', { 'retry-after': '7' });
  });
  app.use(errorHandler(pino({ level: 'silent' })));
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise((resolve) => server.close(resolve)));

const navigation = { accept: 'text/html', 'sec-fetch-mode': 'navigate' };

describe('sendError: a page for a page load meeting passing trouble, JSON otherwise', () => {
  it.each<[ErrorCode, number, string]>([
    ['too_many_requests', 429, 'Too many attempts'],
    ['bad_gateway', 502, 'Temporarily unavailable'],
    ['service_unavailable', 503, 'Temporarily unavailable'],
    ['gateway_timeout', 504, 'Temporarily unavailable'],
  ])('%s → %i page "%s" with its headers', async (code, status, title) => {
    // (rawRequest: fetch() sends its own Sec-Fetch-Mode.)
    const response = await rawRequest(base, `/fail/${code}`, { headers: navigation });
    expect(response.status).toBe(status);
    expect(response.headers['content-type']).toMatch(/^text\/html/);
    expect(response.headers['retry-after']).toBe('7');
    expect(response.headers['content-security-policy']).toMatch(/^default-src 'none'/);
    const html = response.body;
    expect(html).toContain(`<h1>${title}</h1>`);
    expect(html).toContain('Try again');
    expect(html).not.toContain('detail for API clients');
  });

  it.each<[string, Record<string, string>]>([
    ['an API call', { accept: 'application/json' }],
    ['fetch() asking for HTML', { accept: 'text/html', 'sec-fetch-mode': 'cors' }],
    ['a page load with a Bearer token', { ...navigation, authorization: 'Bearer x' }],
  ])('%s gets the JSON error', async (_name, headers) => {
    const response = await rawRequest(base, '/fail/service_unavailable', { headers });
    expect(response.status).toBe(503);
    expect(JSON.parse(response.body)).toEqual({ error: 'service_unavailable', message: 'detail for API clients', requestId: 'rid-1' });
  });

  it.each<ErrorCode>(['not_found', 'bad_request', 'forbidden', 'unauthenticated'])('%s stays JSON even for a page load (refusals have their own pages)', async (code) => {
    const response = await rawRequest(base, `/fail/${code}`, { headers: navigation });
    expect(response.headers['content-type']).toMatch(/^application\/json/);
  });
});
