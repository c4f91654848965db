/**
 * The trivial upstream's answer after a fixed delay, with no CPU spent meanwhile: a proxy in front
 * of it sees QIDO's request pattern (8 connections, each waiting milliseconds for its answer, a few
 * hundred requests per second) without Orthanc's work on the same cores.
 * `node delayed-upstream.mjs <port> <delay ms> <body>`
 */
import http from 'node:http';

const [port, delayMs, body] = process.argv.slice(2);
const answer = Buffer.from(body);
http
  .createServer((req, res) => {
    req.resume();
    if (!req.headers.authorization) return void res.writeHead(401).end();
    setTimeout(() => res.writeHead(200, { 'content-type': 'application/json', 'content-length': answer.length }).end(answer), Number(delayMs));
  })
  .listen(Number(port), '127.0.0.1', () => console.log(`delayed upstream listening on ${port}`));
process.on('SIGTERM', () => process.exit(0));
