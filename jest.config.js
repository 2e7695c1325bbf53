/** Jest runs the TypeScript sources directly (ts-jest, ESM); integration tests drive the built CLI in dist/. */
export default {
  preset: 'ts-jest/presets/default-esm',
  testEnvironment: 'node',
  roots: ['<rootDir>/connector', '<rootDir>/integration_tests', '<rootDir>/bench'],
  testMatch: ['**/*.test.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json', diagnostics: { warnOnly: false } }],
  },
  setupFilesAfterEnv: ['<rootDir>/jest.setup.ts'],
  // A temporary folder per run, checked and removed at the end: a test that leaves a file fails the run.
  globalSetup: '<rootDir>/integration_tests/helpers/jest-global-setup.ts',
  globalTeardown: '<rootDir>/integration_tests/helpers/jest-global-teardown.ts',
  // A failsafe, not a measure: the slowest test took 24 s with two suites, a busy core and other
  // workers on 2 shared cores (the 200,000-row memory test has its own); a hung test still fails.
  testTimeout: 120000,
  // Jest's transform cache stays in the project (its default is /tmp/jest_<uid>, which outlives the run).
  cacheDirectory: '<rootDir>/node_modules/.cache/jest',
  maxWorkers: 2,
  verbose: false,
};
