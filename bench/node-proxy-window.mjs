/**
 * bench/node-proxy.mjs with a larger socket window (bench/README.md, Issue 16, section 16): WINDOW
 * bytes (default 1 MB) as the high-water mark of the client sockets (`http.createServer`'s
 * `highWaterMark`) and of the sockets to the upstream, instead of Node's 16 kB.
 *
 *   WINDOW=262144 node bench/node-proxy-window.mjs <port> <upstream base URL> <authorization header value>
 */
import http from 'node:http';
import net from 'node:net';

const [port, upstream, authorization] = process.argv.slice(2);
const window = Number(process.env.WINDOW ?? 1048576);
const target = new URL(upstream);
const agent = new http.Agent({ keepAlive: true, maxSockets: 256, timeout: 800, scheduling: 'lifo' });
agent.createConnection = (options) => net.createConnection({ ...options, readableHighWaterMark: window, writableHighWaterMark: window });

const server = http.createServer({ highWaterMark: window }, (req, res) => {
  const headers = { ...req.headers, authorization, host: target.host };
  delete headers.connection;
  const proxyReq = http.request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers, agent }, (proxyRes) => {
    const { connection: _connection, 'keep-alive': _keepAlive, ...responseHeaders } = proxyRes.headers;
    res.writeHead(proxyRes.statusCode ?? 502, responseHeaders);
    proxyRes.pipe(res);
  });
  proxyReq.on('error', () => {
    if (!res.headersSent) res.writeHead(502).end();
    else res.destroy();
  });
  req.pipe(proxyReq);
});
server.keepAliveTimeout = 5000;
server.listen(Number(port), '127.0.0.1', () => console.log(`node-proxy listening on ${port}`));
process.on('SIGTERM', () => process.exit(0));
