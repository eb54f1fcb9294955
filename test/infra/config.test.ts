/** `latchkey:*` context: defaults, values typed in cdk.json or given as strings with `-c`, and refusals. */
import { App } from 'aws-cdk-lib';
import cdkJson from '../../cdk.json';
import { CONFIG_DEFAULTS, readConfig } from '../../lib/config';

const config = (context: Record<string, unknown>) => readConfig(new App({ context }));

it('uses the defaults when no key is set, and cdk.json holds exactly those defaults', () => {
  expect(config({})).toEqual(CONFIG_DEFAULTS);
  expect(config(cdkJson.context)).toEqual(CONFIG_DEFAULTS);
});

it('parses values given as strings on the command line', () => {
  expect(
    config({
      'latchkey:authorizerCacheTtlSeconds': '0',
      'latchkey:apiKeysEnabled': 'false',
      'latchkey:expiryThresholdsDays': '[30,1]',
      'latchkey:throttle': '{"rateLimit":5,"burstLimit":10}',
      'latchkey:demoApiEnvironment': 'production',
      'latchkey:superAdmins': '["arn:aws:iam::123456789012:role/Admin*"]',
    }),
  ).toMatchObject({
    authorizerCacheTtlSeconds: 0,
    apiKeysEnabled: false,
    expiryThresholdsDays: [30, 1],
    throttle: { rateLimit: 5, burstLimit: 10 },
    demoApiEnvironment: 'production',
    superAdmins: ['arn:aws:iam::123456789012:role/Admin*'],
  });
});

it('turns the demo environment check off with null', () => {
  expect(config({ 'latchkey:demoApiEnvironment': null }).demoApiEnvironment).toBeUndefined();
});

it.each([
  ['authorizerCacheTtlSeconds', 3601],
  ['auditRetentionDays', 0],
  ['demoApiEnvironment', 'prod'],
  ['expiryThresholdsDays', []],
  ['apiKeysEnabled', 'yes'],
  ['throttle', { rateLimit: 5 }],
  ['superAdmins', ['admin']],
  ['logRetentionDays', 42],
  ['eventBusName', 'no spaces'],
  ['webAclArn', 'arn:aws:s3:::bucket'],
])('refuses latchkey:%s = %j, naming the key', (key, value) => {
  expect(() => config({ [`latchkey:${key}`]: value })).toThrow(`latchkey:${key}`);
});
