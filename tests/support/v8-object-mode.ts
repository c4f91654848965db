/**
 * Run with `node --allow-natives-syntax --import tsx`: serves one request through an Express app on a
 * server made with expressServerObjects and prints whether V8 kept the request and response objects
 * in fast mode (%HasFastProperties) once Express and Node were done with them.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { expressServerObjects } from '../../src/express-objects.js';

// eslint-disable-next-line @typescript-eslint/no-implied-eval -- V8's intrinsic is only reachable from source text
const hasFastProperties = new Function('object', 'return %HasFastProperties(object)') as (object: object) => boolean;

const app = express();
const modes: Array<{ request: boolean; response: boolean }> = [];
app.get('/probe', (req, res) => {
  res.on('finish', () => modes.push({ request: hasFastProperties(req), response: hasFastProperties(res) }));
  res.set('x-probe', '1').json({ path: req.path, ip: req.ip });
});
const server = http.createServer(expressServerObjects(app), (req, res) => app(req, res));
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  void (async () => {
    for (let index = 0; index < 3; index++) await (await fetch(`http://127.0.0.1:${port}/probe`)).text();
    await new Promise((resolve) => setImmediate(resolve));
    console.log(JSON.stringify(modes));
    server.closeAllConnections();
    server.close();
  })();
});
