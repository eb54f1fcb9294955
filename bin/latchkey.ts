/**
 * The CDK app: one stack, `LatchkeyStack`, parameterised by the `latchkey:*` context keys in
 * `cdk.json` (documented in lib/config.ts; override with `npx cdk deploy -c latchkey:<key>=<value>`):
 *
 *   latchkey:authorizerCacheTtlSeconds  60          authorizer policy cache; revocation lag (0..3600)
 *   latchkey:auditRetentionDays         400         audit items expire after this many days
 *   latchkey:demoApiEnvironment         development environment the demo routes admit (null: any)
 *   latchkey:expiryThresholdsDays       [14,7,1]    when ApiKeyExpiring is sent
 *   latchkey:apiKeysEnabled             true        feature flag apiKeys.enabled (false: management 503)
 *   latchkey:throttle                   {rateLimit:100, burstLimit:200}  stage throttling
 *   latchkey:superAdmins                []          IAM principal ARNs bound to super_admin (docs/management-api.md)
 *   latchkey:logRetentionDays           365         function and access log retention
 *   latchkey:eventBusName               latchkey    the domain event bus
 *   latchkey:iteratorAgeAlarmMinutes    5           audit stream lag alarm
 *   latchkey:apiGatewayCloudWatchRole   true        set the account's API Gateway logging role
 *   latchkey:webAclArn                  null        WAFv2 web ACL to associate with the stage
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
