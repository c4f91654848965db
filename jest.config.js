/** ESM TypeScript through ts-jest; run with node --experimental-vm-modules (see package.json). */
function scanEnvironment() {
  if (process.env.JEST_HANDLE_SCAN) return '<rootDir>/tests/support/handle-scan-environment.cjs';
  if (process.env.JEST_HEAP_SCAN) return '<rootDir>/tests/support/heap-scan-environment.cjs';
  return 'node';
}

export default {
  // JEST_HANDLE_SCAN=1 / JEST_HEAP_SCAN=1: after each suite, print what it left open / its worker's memory
  // (README.md, Development).
  testEnvironment: scanEnvironment(),
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {
    '^(\\.{1,2}/.*)\\.js$': '$1',
    // dcmjs's "import" build is ESM in a .js file of a CommonJS package; jest 29 cannot load it.
    '^dcmjs$': '<rootDir>/node_modules/dcmjs/build/dcmjs.js',
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json', diagnostics: false }],
  },
  testMatch: ['<rootDir>/tests/**/*.test.ts'],
  testTimeout: 30000,
  reporters: ['default', '<rootDir>/tests/support/summary-reporter.cjs'],
  // Integration suites start real Orthanc/Redis processes; two cores, so keep it modest.
  maxWorkers: 2,
  // Node's vm keeps every ESM test file's module graph alive in its worker (about 3 MB for an empty suite,
  // 15-20 MB for an integration suite; a CommonJS suite keeps nothing), so a worker that ran half the run
  // held 1.5 GB and took longer than jest's fixed 500 ms to exit. A fresh worker past this heap size bounds
  // that (README.md, Development).
  workerIdleMemoryLimit: '200MB',
};
