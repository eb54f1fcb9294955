/**
 * The functions' code as deployed, built offline by the local esbuild (never Docker), in two parts:
 * CDK itself bundles one function through the real LatchkeyFunction construct (so the construct's
 * bundling runs locally and yields index.js with a source map), and every declared entry is
 * bundled at once, directly with esbuild and the construct's settings, then loaded with no
 * node_modules in reach: each bundle stands alone and exports `handler`. The full stack is
 * synthesized without bundling (test/infra/latchkey-stack.test.ts): bundling its 15 functions one
 * after another through CDK took most of this tier's time and proved no more than this.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { build } from 'esbuild';
import { LatchkeyFunction } from '../../lib/constructs/latchkey-function';
import { type FunctionDeclaration, functions } from '../../lib/declaration';
import { testApp } from './helpers';

const ROOT = path.join(__dirname, '../..');
const declared = Object.values(functions) as FunctionDeclaration[];
let workdir: string;

beforeAll(() => {
  workdir = fs.mkdtempSync(path.join(tmpdir(), 'latchkey-bundles-'));
});
afterAll(() => {
  if (workdir) fs.rmSync(workdir, { recursive: true, force: true });
});

it('LatchkeyFunction is bundled by CDK offline into index.js with a source map', () => {
  // The template is checked with the whole stack's (latchkey-stack.test.ts); here only the bundle is.
  const app = testApp({ bundling: true, cfnValidation: false });
  const stack = new Stack(app, 'Bundled');
  new LatchkeyFunction(stack, 'Demo', { declaration: functions.demo });
  const assembly = app.synth();
  const [fn, ...others] = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'));
  expect(others).toEqual([]);
  const manifest = JSON.parse(
    fs.readFileSync(path.join(assembly.directory, 'Bundled.assets.json'), 'utf8'),
  ) as { files: Record<string, { source: { path: string; packaging: string } }> };
  const asset = manifest.files[String(fn?.Properties.Code.S3Key).replace(/\.zip$/, '')];
  expect(asset?.source.packaging).toBe('zip');
  const dir = path.join(assembly.directory, asset?.source.path ?? 'missing');
  expect(fs.readdirSync(dir).sort()).toEqual(['index.js', 'index.js.map']);
}, 120_000);

it('every declared function bundles on its own and exports handler', async () => {
  const out = path.join(workdir, 'bundles');
  // The settings LatchkeyFunction gives NodejsFunction (lib/constructs/latchkey-function.ts), as
  // CDK passes them to esbuild; no module is external, the AWS SDK included.
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: Object.fromEntries(declared.map((f) => [`${f.name}/index`, f.entry])),
    outdir: out,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    minify: true,
    sourcemap: true,
    logLevel: 'silent',
  });
  expect(result.errors).toEqual([]);
  for (const f of declared)
    expect([f.name, fs.readdirSync(path.join(out, f.name)).sort()]).toEqual([
      f.name,
      ['index.js', 'index.js.map'],
    ]);

  // One fresh Node process outside the repository (nothing to resolve a package from) loads them all.
  const load = [
    'const handlers = {};',
    "for (const name of process.argv.slice(1)) handlers[name] = typeof require('./' + name + '/index.js').handler;",
    'console.log(JSON.stringify(handlers));',
  ].join('\n');
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['-e', load, ...declared.map((f) => f.name)],
    {
      cwd: out,
      env: {
        PATH: process.env.PATH,
        AWS_REGION: 'us-east-1',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
    },
  );
  expect(JSON.parse(stdout)).toEqual(Object.fromEntries(declared.map((f) => [f.name, 'function'])));
}, 120_000);
