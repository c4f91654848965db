/**
 * The floor for any Node.js proxy: the smallest keep-alive reverse proxy node:http allows (no
 * framework, no auth, no logging), with a fixed Authorization header like the nginx target. The
 * benchmark runs it next to the gateway so the gap to nginx splits into "Node's HTTP stack" and
 * "the gateway's own work".
 *
 *   node bench/node-proxy.mjs <port> <upstream base URL> <authorization header value>
 */
import http from 'node:http';
import net from 'node:net';

const [port, upstream, authorization] = process.argv.slice(2);
const target = new URL(upstream);
const agent = new http.Agent({ keepAlive: true, maxSockets: 256, timeout: 800, scheduling: 'lifo' });
/** With WINDOW (bench/node-proxy-window.mjs): that many bytes as every socket's high-water mark instead of Node's 16 kB. */
const window = process.env.WINDOW ? Number(process.env.WINDOW) : undefined;
if (window) agent.createConnection = (options) => net.createConnection({ ...options, readableHighWaterMark: window, writableHighWaterMark: window });

const server = http.createServer(window ? { highWaterMark: window } : {}, (req, res) => {
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
