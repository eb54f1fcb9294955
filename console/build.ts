/**
 * Builds the admin console (docs/console.md): `console/src/main.tsx` bundled by esbuild into one
 * `app.js` (and `app.css`, uPlot's stylesheet the code imports) beside `index.html` and `styles.css`, with no inline script and nothing loaded from
 * anywhere else at runtime (the CSP allows only `'self'`). The whole console's JavaScript must stay
 * within `CONSOLE_JS_BUDGET_BYTES` gzipped; the build reports the figure and fails above it.
 * Used by `npm run build:console`, by `npm start` (the local gateway serves the result at
 * `/console/`) and by the CDK stack (deployed to the console bucket).
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildSync } from 'esbuild';

export const CONSOLE_JS_BUDGET_BYTES = 200 * 1024;
const SOURCE = join(__dirname, 'src');
const STATIC = ['index.html', 'styles.css'];

export interface ConsoleBuild {
  readonly outdir: string;
  /** Gzipped size of all JavaScript the console loads. */
  readonly gzippedJsBytes: number;
}

/** Builds into `outdir` (emptied first). Synchronous: CDK constructs call it while synthesizing. */
export function buildConsole(outdir: string): ConsoleBuild {
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  buildSync({
    entryPoints: { app: join(SOURCE, 'main.tsx') },
    outdir,
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome120', 'firefox120', 'safari17'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'warning',
  });
  for (const file of STATIC) copyFileSync(join(__dirname, 'static', file), join(outdir, file));
  const gzippedJsBytes = readdirSync(outdir)
    .filter((f) => f.endsWith('.js'))
    .reduce((sum, f) => sum + gzipSync(readFileSync(join(outdir, f)), { level: 9 }).length, 0);
  if (gzippedJsBytes > CONSOLE_JS_BUDGET_BYTES) {
    throw new Error(
      `The console's JavaScript is ${gzippedJsBytes} bytes gzipped, over its budget of ${CONSOLE_JS_BUDGET_BYTES}`,
    );
  }
  return { outdir, gzippedJsBytes };
}

/** Where `npm run build:console` and the local stack put the console. */
export const CONSOLE_OUTDIR = join(__dirname, '..', 'dist-console');
