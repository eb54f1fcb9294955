#!/usr/bin/env node
// The `latchkey` CLI as one file (docs/cli.md): esbuild bundles cli/latchkey.ts with every
// dependency inside (commander, cli-table3, the AWS SDK's credential chain and CloudFormation
// client), so the package keeps no runtime dependency. `npm run build` calls `buildCli()`;
// `node scripts/build-cli.mjs [outfile]` builds it alone (the `prepare` script, the CLI tests).
import { chmodSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const CLI_OUTFILE = 'dist/cli/latchkey.js';

/** The repository root: the build works from any directory. */
const root = fileURLToPath(new URL('..', import.meta.url));

/** Builds the CLI to `outfile` (relative to the current directory). */
export async function buildCli(outfile = join(root, CLI_OUTFILE)) {
  await build({
    absWorkingDir: root,
    entryPoints: ['cli/latchkey.ts'],
    outfile: resolve(outfile),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    banner: { js: '#!/usr/bin/env node' },
    legalComments: 'none',
    logLevel: 'warning',
  });
  chmodSync(resolve(outfile), 0o755);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildCli(process.argv[2]);
}
