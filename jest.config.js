/**
 * Four tiers, one Jest project each (docs/testing.md), selected by directory:
 *   unit         test/unit                      pure logic: no Java, no network, no DynamoDB Local
 *   infra        test/infra                     CDK synth, assertions and cdk-nag
 *   e2e          test/e2e                       through the local gateway or `npm start`
 *   integration  every other directory of test/  against DynamoDB Local
 * Integration is the catch-all, so a test in a new directory runs against DynamoDB Local rather
 * than not at all. Only integration and e2e start DynamoDB Local, and share one when both run.
 */

const { availableParallelism } = require('node:os');

/** Jest runs TypeScript through SWC (fast, no type-check: `npm run typecheck` does that). */
const swc = [
  '@swc/jest',
  { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } },
];

const common = {
  testEnvironment: 'node',
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.(ts|js|mjs)$': swc },
  // @middy/* ships ES modules only; everything else in node_modules is CommonJS already.
  transformIgnorePatterns: ['/node_modules/(?!@middy/)'],
  setupFiles: ['<rootDir>/test/support/env.ts'],
};

const dynamoDbLocal = {
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
};

module.exports = {
  // Run-wide settings (Jest ignores them inside a project). Jest's default, one worker fewer than
  // the cores, is a single worker on a 2-core CI machine; these tests mostly wait on DynamoDB Local,
  // HTTP and child processes, so two overlap well there (docs/testing.md).
  maxWorkers: Math.max(2, availableParallelism() - 1),
  testTimeout: 60_000,
  projects: [
    {
      ...common,
      displayName: 'unit',
      roots: ['<rootDir>/test/unit'],
      setupFiles: [...common.setupFiles, '<rootDir>/test/support/unit-env.ts'],
    },
    {
      ...common,
      ...dynamoDbLocal,
      displayName: 'integration',
      roots: ['<rootDir>/test'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/(unit|infra|e2e)/'],
    },
    { ...common, displayName: 'infra', roots: ['<rootDir>/test/infra'] },
    { ...common, ...dynamoDbLocal, displayName: 'e2e', roots: ['<rootDir>/test/e2e'] },
  ],
};
