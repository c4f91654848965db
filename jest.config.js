/** ESM TypeScript through ts-jest; run with node --experimental-vm-modules (see package.json). */
export default {
  // JEST_HANDLE_SCAN=1: after each suite, print what it left open (README.md, Development).
  testEnvironment: process.env.JEST_HANDLE_SCAN ? '<rootDir>/tests/support/handle-scan-environment.cjs' : 'node',
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
};
