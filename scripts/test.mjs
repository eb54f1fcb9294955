#!/usr/bin/env node
// `npm test`: runs every tier, one Jest project each (unit, integration against DynamoDB Local,
// infra: CDK assertions and cdk-nag, e2e through the local gateway and `npm start`; see
// docs/testing.md), and ends with `N passed, N failed`, computed from Jest's JSON results rather
// than scraped from its human summary. Arguments go to Jest: `npm run test:unit` is this with
// `--selectProjects unit`.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const results = '.jest-results.json';
rmSync(results, { force: true });
const jest = require.resolve('jest/bin/jest');
const run = spawnSync(
  process.execPath,
  [jest, '--json', `--outputFile=${results}`, ...process.argv.slice(2)],
  {
    stdio: 'inherit',
    // Lambda runs Node 22; the SDK's notice about Node 20 on CI machines is noise in test output.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...process.env },
  },
);

let passed = 0;
let failed = 0;
if (existsSync(results)) {
  const r = JSON.parse(readFileSync(results, 'utf8'));
  passed = r.numPassedTests;
  // A suite that crashes before running its tests counts as a failure too.
  failed = r.numFailedTests + r.numRuntimeErrorTestSuites;
} else {
  failed = 1;
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(run.status === 0 && failed === 0 ? 0 : 1);
