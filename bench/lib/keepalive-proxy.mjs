/**
 * Bare node:http proxies as the gateway talks to Orthanc (bench/node-proxy-keepalive*.mjs), the floor
 * for the QIDO point. Unlike bench/node-proxy.mjs, connections to Orthanc are reused: Node's own
 * agent keeps a 1 s margin below Orthanc's `Keep-Alive: timeout=1` and so opens a new connection
 * per request; this agent keeps them 800 ms like src/upstream/upstream-agent.ts.
 *
 * With `rewrite`, it also does the one transformation the gateway does to every JSON answer: it
 * sends the `Forwarded` header the gateway sends (so Orthanc writes `http://<public host>/dicom-web/…`)
 * and moves those URLs under `/pacs/dicom-web/` on the bytes, chunk by chunk, relayed the way the
 * gateway's `relayRewritten` does (no Transform, chunked framing, the chunk completing Orthanc's
 * Content-Length ends the response). A copy of the algorithm of src/upstream/url-rewrite.ts, kept
 * plain (no build step).
 */
import http from 'node:http';

class KeepAliveAgent extends http.Agent {
  keepSocketAlive(socket) {
    socket.setKeepAlive(true, this.keepAliveMsecs);
    socket.unref();
    socket.setTimeout(800); // the agent destroys a free socket on 'timeout'
    return true;
  }
}

/** `node <script> <port> <upstream base URL> <authorization header value>` */
export function startKeepAliveProxy({ rewrite }) {
  const [port, upstream, authorization] = process.argv.slice(2);
  const target = new URL(upstream);
  const agent = new KeepAliveAgent({ keepAlive: true, maxSockets: 256, scheduling: 'lifo' });
  const publicHost = `127.0.0.1:${port}`;
  const forwarded = `host=${publicHost};proto=http`;
  const search = Buffer.from(`http://${publicHost}/dicom-web/`);
  const replacement = Buffer.from(`http://${publicHost}/pacs/dicom-web/`);

  /** A streaming replace-all of `search` by `replacement`: a tail that may begin `search` is held back. */
  function rewriter() {
    let pending = Buffer.alloc(0);
    return {
      write(chunk) {
        const data = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
        const found = [];
        let start = 0;
        for (let at = data.indexOf(search); at >= 0; at = data.indexOf(search, start)) {
          found.push(at);
          start = at + search.length;
        }
        let held = data.length;
        for (let at = Math.max(start, data.length - search.length + 1); at < data.length; at++) {
          if (data[at] === search[0] && search.compare(data, at, data.length, 0, data.length - at) === 0) {
            held = at;
            break;
          }
        }
        pending = held === data.length ? Buffer.alloc(0) : Buffer.from(data.subarray(held));
        if (found.length === 0) return held === data.length ? data : data.subarray(0, held);
        const out = Buffer.allocUnsafe(held + found.length * (replacement.length - search.length));
        let from = 0;
        let to = 0;
        for (const at of found) {
          to += data.copy(out, to, from, at);
          to += replacement.copy(out, to);
          from = at + search.length;
        }
        data.copy(out, to, from, held);
        return out;
      },
      end() {
        return pending;
      },
    };
  }

  function relayRewritten(proxyRes, res) {
    const declared = Number(proxyRes.headers['content-length']);
    const body = rewriter();
    let received = 0;
    let ended = false;
    proxyRes.on('data', (chunk) => {
      received += chunk.length;
      const out = body.write(chunk);
      if (received === declared) {
        ended = true;
        return res.end(Buffer.concat([out, body.end()]));
      }
      if (out.length && !res.write(out)) proxyRes.pause();
    });
    res.on('drain', () => proxyRes.resume());
    proxyRes.once('end', () => {
      if (!ended) res.end(body.end());
    });
  }

  const server = http.createServer((req, res) => send(req, res, true));

  /** A GET on a kept connection that Orthanc closed meanwhile (timers run late on a busy machine) is sent once more, as the gateway does. */
  function send(req, res, mayRetry) {
    const headers = { ...req.headers, authorization, host: target.host, ...(rewrite ? { forwarded } : {}) };
    delete headers.connection;
    // As the gateway's header allowlist does: a gzipped answer could not be rewritten.
    if (rewrite) delete headers['accept-encoding'];
    const proxyReq = http.request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers, agent }, (proxyRes) => {
      const { connection: _connection, 'keep-alive': _keepAlive, ...responseHeaders } = proxyRes.headers;
      if (!rewrite || !/json|xml/i.test(proxyRes.headers['content-type'] ?? '')) {
        res.writeHead(proxyRes.statusCode ?? 502, responseHeaders);
        return proxyRes.pipe(res);
      }
      delete responseHeaders['content-length'];
      res.writeHead(proxyRes.statusCode ?? 502, responseHeaders);
      relayRewritten(proxyRes, res);
    });
    proxyReq.on('error', () => {
      if (mayRetry && proxyReq.reusedSocket && req.method === 'GET' && !res.headersSent) return send(req, res, false);
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    if (req.method === 'GET') proxyReq.end();
    else req.pipe(proxyReq);
  }
  server.keepAliveTimeout = 5000;
  server.listen(Number(port), '127.0.0.1', () => console.log(`keep-alive proxy${rewrite ? ' with the URL rewrite' : ''} listening on ${port}`));
  process.on('SIGTERM', () => process.exit(0));
}
