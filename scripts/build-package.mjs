#!/usr/bin/env node
// `npm run build` (and `npm pack`, through `prepack`): the published package in `dist/`
// (docs/protecting-apis.md). TypeScript compiles the entry points of the `exports` map to CommonJS
// with their type declarations (tsconfig.build.json); then the client and the middleware are
// rebundled by esbuild with their one dependency (@smithy/signature-v4) inside, so the package has
// no runtime dependency at all: only its peers, aws-cdk-lib and constructs for `latchkey/constructs`.
// The `latchkey` CLI is bundled the same way, to dist/cli/latchkey.js (the `bin`).
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';
import { buildCli } from './build-cli.mjs';

const require = createRequire(import.meta.url);
rmSync('dist', { recursive: true, force: true });
// typescript's `exports` hide its bin: find it next to its package.json.
const tscBin = join(dirname(require.resolve('typescript/package.json')), 'bin', 'tsc');
const tsc = spawnSync(process.execPath, [tscBin, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

await build({
  entryPoints: { 'sdk/client': 'sdk/client.ts', 'sdk/middleware': 'sdk/middleware.ts' },
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // Types only at runtime: nothing of middy or aws-lambda is ever required.
  external: ['@middy/core', 'aws-lambda'],
  logLevel: 'warning',
});

// The package's `bin`, one self-contained file (scripts/build-cli.mjs).
await buildCli();
