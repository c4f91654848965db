// Opt-in jest environment (JEST_HANDLE_SCAN=1, see README.md, Development): after each suite's teardown it
// prints to stderr what still holds the worker process open — sockets with their ports (an accepted
// socket with its server's connection listener), servers, child processes, timers — to trace jest's
// "A worker process has failed to exit gracefully" to the suite that left the handle open.
const { createHook } = require('node:async_hooks');
const { SuiteEnvironment } = require('./suite-environment.cjs');

const SETTLE_MS = 300; // lets closes started in afterAll finish before the scan
// jest-worker's own: its IPC channel and the stdio pipes (made on first use)
const baseline = new Set([...process._getActiveHandles(), process.stdout, process.stderr]);
const timers = new Map(); // async id -> Timeout
const origins = new WeakMap();

const WATCHED = new Set(['Timeout', 'TCPWRAP', 'TCPSERVERWRAP', 'PIPEWRAP', 'PIPESERVERWRAP']);

/** Where a handle was made: the test and src frames of its creation stack ('' when it has none). */
function origin() {
  const frames = new Error().stack.split('\n').slice(3).map((frame) => frame.trim().replace(/^at /, ''));
  const ours = frames.filter((frame) => /\/(tests|src)\//.test(frame) && !frame.includes('handle-scan-environment'));
  return ours.length > 0 ? `; made at ${ours.slice(0, 4).join(' < ')}` : '';
}

createHook({
  init(id, type, _trigger, resource) {
    if (type === 'Timeout') timers.set(id, resource);
    if (WATCHED.has(type)) origins.set(resource, origin());
  },
  destroy(id) {
    timers.delete(id);
  },
}).enable();

/** A server's own code, which tells which test started it. */
const connectionListener = (server) => server.listeners('connection').map(String).join('; ').slice(0, 160);

function describeHandle(handle) {
  const kind = handle?.constructor?.name ?? typeof handle;
  if (typeof handle?.remotePort === 'number' || kind === 'Socket' || kind === 'TLSSocket') {
    const accepted = handle.server ? ` accepted by a server whose connection listener is ${connectionListener(handle.server)}` : '';
    const ends = handle.remotePort === undefined ? 'pipe' : `${handle.localAddress}:${handle.localPort} -> ${handle.remoteAddress}:${handle.remotePort}`;
    return `${kind} ${ends}${accepted} (read ${handle.bytesRead} B, wrote ${handle.bytesWritten} B${origins.get(handle._handle) ?? ''})`;
  }
  if (kind === 'Server') return `Server ${JSON.stringify(handle.address())}, connection listener ${connectionListener(handle)}${origins.get(handle._handle) ?? ''}`;
  if (kind === 'ChildProcess') return `ChildProcess ${handle.pid} ${handle.spawnargs.join(' ').slice(0, 160)}`;
  if (kind === 'Timeout') return `Timeout ${handle._idleTimeout} ms ${String(handle._onTimeout).slice(0, 80)}${origins.get(handle) ?? ''}`;
  return kind;
}

class HandleScanEnvironment extends SuiteEnvironment {
  async teardown() {
    await super.teardown();
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const handles = process._getActiveHandles().filter((handle) => !baseline.has(handle));
    const liveTimers = [...timers.values()].filter((timer) => !timer._destroyed && timer.hasRef());
    const open = [...handles, ...liveTimers].map(describeHandle);
    const line = open.length === 0 ? 'nothing left open' : `still open:\n  ${open.join('\n  ')}`;
    process.stderr.write(`handle scan [pid ${process.pid}] after ${this.suite}: ${line}\n`);
  }
}

module.exports = HandleScanEnvironment;
