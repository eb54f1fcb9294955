/**
 * The CDK app: one stack, `LatchkeyStack`, configured by the `latchkey:*` context keys (add them to
 * `cdk.json` or pass `npx cdk deploy -c latchkey:<key>=<value>`); every key, its default and range
 * are in docs/configuration.md, validated by `lib/config.ts` (an unknown or bad key fails the synth).
 *
 * Environment-agnostic (no account/region lookups), so `npx cdk synth` works offline with no
 * credentials; functions are bundled by the local esbuild, never Docker.
 * cdk-nag's AwsSolutions pack runs on every synth: an unacknowledged error fails it.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { LatchkeyStack } from '../lib/latchkey-stack';

const app = new App();
new LatchkeyStack(app, 'LatchkeyStack');
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
