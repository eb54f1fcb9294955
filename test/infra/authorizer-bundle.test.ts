/**
 * What the authorizer's bundle may carry, built with the very options every function is bundled
 * with (`BUNDLING`, lib/constructs/latchkey-function.ts): the DynamoDB client and Latchkey's own
 * code, and none of the libraries it left behind for its size and cold start (docs/operations.md,
 * Bundles). Sizes and load times are measured by `npm run bench`, not asserted here.
 */
import { resolve } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { BUNDLING } from '../../lib/constructs/latchkey-function';
import { functions } from '../../lib/declaration';

const REPO_ROOT = resolve(__dirname, '../..');

/** The source files that contribute to the bundle of `entry`. */
async function inputsOf(entry: string): Promise<string[]> {
  const out = await build({
    entryPoints: [resolve(REPO_ROOT, entry)],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    minify: BUNDLING.minify,
    target: BUNDLING.target,
    mainFields: [...BUNDLING.mainFields],
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  // What ended up in the output: files read but tree-shaken away contribute no bytes.
  const [output] = Object.values((out.metafile as Metafile).outputs);
  return Object.entries(output?.inputs ?? {})
    .filter(([, i]) => i.bytesInOutput > 0)
    .map(([file]) => file);
}

const carries = (inputs: string[], what: string) => inputs.some((i) => i.includes(what));

it('the authorizer carries the DynamoDB client and zod/mini (its settings), and no X-Ray SDK, Powertools, full zod or ipaddr.js', async () => {
  const inputs = await inputsOf(functions.authorizer.entry);
  expect(carries(inputs, '@aws-sdk/client-dynamodb/')).toBe(true);
  // The scope catalog does come along: it is the built-in registration the authorizer decides by.
  // Settings are parsed by the one environment schema (lib/function-environment.ts), in zod/mini.
  expect(carries(inputs, 'node_modules/zod/v4/mini/')).toBe(true);
  for (const left of [
    'aws-xray-sdk-core/',
    '@aws-lambda-powertools/',
    'node_modules/zod/v4/classic/',
    'ipaddr.js/',
  ]) {
    expect([left, carries(inputs, left)]).toEqual([left, false]);
  }
  // The ES module builds, not the CommonJS ones (mainFields).
  expect(carries(inputs, '@aws-sdk/client-dynamodb/dist-es/')).toBe(true);
  expect(carries(inputs, '@aws-sdk/client-dynamodb/dist-cjs/')).toBe(false);
}, 60_000);

it('the demo API, which only answers JSON, carries neither zod nor a DynamoDB client', async () => {
  const inputs = await inputsOf(functions.demo.entry);
  expect(carries(inputs, 'node_modules/zod/')).toBe(false);
  expect(carries(inputs, '@aws-sdk/client-dynamodb/')).toBe(false);
}, 60_000);
