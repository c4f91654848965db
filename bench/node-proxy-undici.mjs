/**
 * Prototype for issue 16's undici lever: bench/node-proxy.mjs with undici's `Pool` (dispatch API,
 * chunks written straight to the client) instead of http.Agent + http.request. Run by
 * `bench/cpu.ts --undici` next to the http.Agent version: the difference is what undici could save
 * per request at best. Needs undici (a devDependency).
 *
 *   node bench/node-proxy-undici.mjs <port> <upstream base URL> <authorization header value>
 */
import http from 'node:http';
import { Pool } from 'undici';

const [port, upstream, authorization] = process.argv.slice(2);
const pool = new Pool(upstream, { connections: 256, keepAliveTimeout: 800, keepAliveMaxTimeout: 800, keepAliveTimeoutThreshold: 200, pipelining: 1 });
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding']);

const server = http.createServer((req, res) => {
  const headers = { ...req.headers, authorization };
  delete headers.connection;
  delete headers.host;
  const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  pool.dispatch(
    { path: req.url, method: req.method, headers, body: hasBody ? req : null },
    {
      onConnect() {},
      onHeaders(statusCode, rawHeaders, resume) {
        const responseHeaders = [];
        for (let index = 0; index < rawHeaders.length; index += 2) {
          const name = rawHeaders[index].toString('latin1');
          if (!HOP_BY_HOP.has(name.toLowerCase())) responseHeaders.push(name, rawHeaders[index + 1].toString('latin1'));
        }
        res.writeHead(statusCode, responseHeaders);
        res.on('drain', resume);
        return true;
      },
      onData(chunk) {
        return res.write(chunk);
      },
      onComplete() {
        res.end();
      },
      onError() {
        if (!res.headersSent) res.writeHead(502).end();
        else res.destroy();
      },
    },
  );
});
server.keepAliveTimeout = 5000;
server.listen(Number(port), '127.0.0.1', () => console.log(`node-proxy-undici listening on ${port}`));
process.on('SIGTERM', () => process.exit(0));
