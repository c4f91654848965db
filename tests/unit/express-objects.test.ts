/**
 * expressServerObjects: node:http creates requests and responses that already have the Express
 * app's prototypes, so Express's per-request prototype swap does nothing, and Express and Node
 * behave as before.
 */
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import { expressServerObjects } from '../../src/express-objects.js';

const app = express();
app.use(express.json());
app.get('/info', (req, res) => {
  res.set('x-test', 'yes').json({ path: req.path, query: req.query, ip: typeof req.ip });
});
app.post('/echo', (req, res) => {
  res.status(201).json(req.body);
});

let server: http.Server;
let url: string;
const prototypes: boolean[] = [];

beforeAll(async () => {
  server = http.createServer(expressServerObjects(app), (req, res) => {
    prototypes.push(
      Object.getPrototypeOf(req) === app.request &&
        Object.getPrototypeOf(res) === app.response &&
        req instanceof http.IncomingMessage &&
        res instanceof http.ServerResponse,
    );
    app(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('expressServerObjects', () => {
  it('creates requests and responses with the app’s prototypes (still node:http instances) before Express sees them', async () => {
    prototypes.length = 0;
    for (let index = 0; index < 3; index++) await (await fetch(`${url}/info`)).text();
    expect(prototypes).toEqual([true, true, true]);
  });

  it('keeps Express features (req.path, req.query, res.json, res.set, status) and request bodies working', async () => {
    const info = await fetch(`${url}/info?a=1`);
    expect(info.headers.get('x-test')).toBe('yes');
    expect(await info.json()).toEqual({ path: '/info', query: { a: '1' }, ip: 'string' });
    const echo = await fetch(`${url}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ hello: 'world' }) });
    expect(echo.status).toBe(201);
    expect(await echo.json()).toEqual({ hello: 'world' });
    expect((await fetch(`${url}/missing`)).status).toBe(404);
  });

  it('leaves requests and responses in V8’s fast mode (a response made by calling Node’s constructor on another object went to dictionary mode)', () => {
    const probe = new URL('../support/v8-object-mode.ts', import.meta.url).pathname;
    const output = execFileSync(process.execPath, ['--allow-natives-syntax', '--import', 'tsx', probe], { encoding: 'utf8', timeout: 30_000 });
    expect(JSON.parse(output)).toEqual([
      { request: true, response: true },
      { request: true, response: true },
      { request: true, response: true },
    ]);
  });
});
