// Opt-in jest environment (JEST_HEAP_SCAN=1, see README.md, Development): after each suite's teardown it
// collects garbage (when node runs with --expose-gc) and prints to stderr the worker's memory and how much
// the suite left behind in it, to find the suites that make a worker grow until it is slow to exit.
const { SuiteEnvironment } = require('./suite-environment.cjs');

const MB = 1024 * 1024;
let previous = process.memoryUsage(); // this worker's memory after its previous suite (or at its start)

const megabytes = (bytes) => `${(bytes / MB).toFixed(1)} MB`;
const signed = (bytes) => `${bytes >= 0 ? '+' : ''}${megabytes(bytes)}`;

class HeapScanEnvironment extends SuiteEnvironment {
  async teardown() {
    await super.teardown();
    global.gc?.();
    const now = process.memoryUsage();
    const left = `heap ${megabytes(now.heapUsed)} (${signed(now.heapUsed - previous.heapUsed)}), array buffers ${megabytes(now.arrayBuffers)} (${signed(now.arrayBuffers - previous.arrayBuffers)}), rss ${megabytes(now.rss)}`;
    const collected = global.gc ? '' : ' [no --expose-gc: garbage not collected first]';
    process.stderr.write(`heap scan [pid ${process.pid}] after ${this.suite}: ${left}${collected}\n`);
    previous = now;
  }
}

module.exports = HeapScanEnvironment;
