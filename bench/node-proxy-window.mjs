/**
 * bench/node-proxy.mjs with a larger socket window (bench/README.md, Issue 16, section 16): WINDOW
 * bytes (default 1 MB) as the high-water mark of the client sockets (`http.createServer`'s
 * `highWaterMark`) and of the sockets to the upstream, instead of Node's 16 kB.
 *
 *   WINDOW=262144 node bench/node-proxy-window.mjs <port> <upstream base URL> <authorization header value>
 */
process.env.WINDOW ??= '1048576';
await import('./node-proxy.mjs');
