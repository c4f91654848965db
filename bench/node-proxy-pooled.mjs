/**
 * bench/node-proxy.mjs with the gateway's connection pool: Node's own agent keeps a 1 s margin below
 * Orthanc's `Keep-Alive: timeout=1` and so opens a new connection per request; this one keeps each
 * connection for 800 ms as the gateway does (src/upstream/upstream-agent.ts): the floor of a Node
 * proxy in front of Orthanc (bench/README.md, Issue 16, section 18).
 *
 *   node bench/node-proxy-pooled.mjs <port> <upstream base URL> <authorization header value>
 */
process.env.NODE_PROXY_POOLED = '1';
await import('./node-proxy.mjs');
