/**
 * The real synth, as `npx cdk synth` runs it: functions bundled by the local esbuild (no Docker),
 * with the cdk-nag plugin registered on the app, which fails the synth on any unacknowledged error.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks } from 'cdk-nag';
import { LatchkeyStack } from '../../lib/latchkey-stack';
import { testApp } from './helpers';

let assembly: CloudAssembly;
let template: Template;

beforeAll(() => {
  const app = testApp({ bundling: true });
  const stack = new LatchkeyStack(app, 'LatchkeyStack');
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  assembly = app.synth();
  template = Template.fromStack(stack);
}, 180_000);

it('bundles every function offline into index.js with a source map', () => {
  const functions = Object.values(template.findResources('AWS::Lambda::Function'));
  expect(functions.length).toBeGreaterThan(0);
  const manifest = JSON.parse(
    fs.readFileSync(path.join(assembly.directory, 'LatchkeyStack.assets.json'), 'utf8'),
  ) as { files: Record<string, { source: { path: string; packaging: string } }> };
  for (const fn of functions) {
    const key = String(fn.Properties.Code.S3Key);
    const asset = manifest.files[key.replace(/\.zip$/, '')];
    expect(asset?.source.packaging).toBe('zip');
    const dir = path.join(assembly.directory, asset?.source.path ?? 'missing');
    expect(fs.readdirSync(dir).sort()).toEqual(['index.js', 'index.js.map']);
  }
});
