/**
 * The configuration contract: `latchkey:*` context (defaults, values typed in cdk.json or given as
 * strings with `-c`, refusals), and one change reaching both the synthesized functions and the
 * local stack's handlers through the one builder.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import cdkJson from '../../cdk.json';
import { CONFIG_DEFAULTS, readConfig, readLocalConfig } from '../../lib/config';
import { runtimeEnvironment } from '../../lib/constructs/latchkey-function';
import { type FunctionDeclaration, functions } from '../../lib/declaration';
import { SETTINGS } from '../../lib/function-environment';
import { LatchkeyStack } from '../../lib/latchkey-stack';
import { localFunctionEnvironment } from '../../local/environment';
import { functionId, testApp } from './helpers';

const config = (context: Record<string, unknown>) => readConfig(new App({ context }));

it('uses the defaults when no key is set, and cdk.json sets none (the schema holds every default)', () => {
  expect(config({})).toEqual(CONFIG_DEFAULTS);
  expect(Object.keys(cdkJson.context).filter((k) => k.startsWith('latchkey:'))).toEqual([]);
  expect(CONFIG_DEFAULTS).toMatchObject({
    auditRetentionDays: 400,
    // Exact limits by default: API Gateway's cache off, no in-memory key cache.
    limitsEnforcement: 'exact',
    authorizerCacheTtlSeconds: 0,
    authorizerKeyCacheSeconds: 0,
    sourceIpCoolDown: { invalidTokens: 20, windowSeconds: 60, coolDownSeconds: 300 },
    suspiciousSourceIps: { distinctIps: 20, windowMinutes: 60 },
  });
});

it('caches 60 s by default when limits may be approximate, and refuses a cache with exact limits', () => {
  expect(config({ 'latchkey:limitsEnforcement': 'cached' }).authorizerCacheTtlSeconds).toBe(60);
  expect(
    config({ 'latchkey:limitsEnforcement': 'cached', 'latchkey:authorizerCacheTtlSeconds': '0' })
      .authorizerCacheTtlSeconds,
  ).toBe(0);
  expect(() => config({ 'latchkey:authorizerCacheTtlSeconds': 60 })).toThrow(
    /latchkey:authorizerCacheTtlSeconds" must be 0 with limitsEnforcement "exact"/,
  );
});

it('parses values given as strings on the command line', () => {
  expect(
    config({
      'latchkey:authorizerCacheTtlSeconds': '0',
      'latchkey:sourceIpCoolDown': '{"invalidTokens":0,"windowSeconds":60,"coolDownSeconds":60}',
      'latchkey:apiKeysEnabled': 'false',
      'latchkey:expiryThresholdsDays': '[30,1]',
      'latchkey:throttle': '{"rateLimit":5,"burstLimit":10}',
      'latchkey:demoApiEnvironment': 'production',
      'latchkey:eventBusName': 'latchkey-blue',
      'latchkey:demoRoutes': 'false',
      'latchkey:consumerAccounts': '["222222222222"]',
      'latchkey:alarmTopicArn': 'arn:aws:sns:eu-west-1:111111111111:alarms',
    }),
  ).toMatchObject({
    demoRoutes: false,
    consumerAccounts: ['222222222222'],
    alarmTopicArn: 'arn:aws:sns:eu-west-1:111111111111:alarms',
    authorizerCacheTtlSeconds: 0,
    sourceIpCoolDown: { invalidTokens: 0, windowSeconds: 60, coolDownSeconds: 60 },
    apiKeysEnabled: false,
    expiryThresholdsDays: [30, 1],
    throttle: { rateLimit: 5, burstLimit: 10 },
    demoApiEnvironment: 'production',
    eventBusName: 'latchkey-blue',
  });
});

it('turns the demo environment check off with null or an empty string', () => {
  expect(config({ 'latchkey:demoApiEnvironment': null }).demoApiEnvironment).toBeNull();
  expect(config({ 'latchkey:demoApiEnvironment': '' }).demoApiEnvironment).toBeNull();
});

it.each([
  ['authorizerCacheTtlSeconds', 3601],
  ['limitsEnforcement', 'approximate'],
  ['authorizerKeyCacheSeconds', 301],
  ['sourceIpCoolDown', { invalidTokens: 5, windowSeconds: 60 }],
  ['suspiciousSourceIps', { distinctIps: 1, windowMinutes: 60 }],
  ['auditRetentionDays', 0],
  ['demoApiEnvironment', 'prod'],
  ['expiryThresholdsDays', []],
  ['apiKeysEnabled', 'yes'],
  ['throttle', { rateLimit: 5 }],
  ['logRetentionDays', 42],
  ['eventBusName', 'no spaces'],
  ['webAclArn', 'arn:aws:s3:::bucket'],
  ['demoRoutes', 'sometimes'],
  ['apiCacheSeconds', 301],
  ['consumerAccounts', ['12345']],
  ['consumerAccounts', '222222222222'],
  ['parameterPrefix', 'latchkey'],
  ['alarmTopicArn', 'arn:aws:sqs:eu-west-1:111111111111:queue'],
  ['superAdmins', 'arn:aws:iam::123456789012:user/alice'],
  ['superAdmins', ['alice']],
  ['superAdmins', ['arn:aws:iam::*:role/Admins']],
  ['superAdmins', ['arn:aws:iam::123456789012:user/a', 'arn:aws:iam::123456789012:user/a']],
  ['policyRules', [{ id: 'r', effect: 'allow', actions: ['*'], when: {} }]],
  ['policyRules', [{ id: 'built_in:x', effect: 'deny', actions: ['*'], when: {} }]],
  [
    'policyRules',
    [
      {
        id: 'r',
        effect: 'deny',
        actions: ['*'],
        when: { time: { time_zone: 'Mars/Base', from: '09:00', to: '17:00', match: 'inside' } },
      },
    ],
  ],
  [
    'policyRules',
    [
      {
        id: 'r',
        effect: 'deny',
        actions: ['*'],
        when: { source_ip: { cidrs: ['10.0.0.0/33'], match: 'inside' } },
      },
    ],
  ],
  [
    'policyRules',
    [
      { id: 'r', effect: 'deny', actions: ['*'], when: {} },
      { id: 'r', effect: 'warn', actions: ['*'], when: {} },
    ],
  ],
])('refuses latchkey:%s = %j, naming the key', (key, value) => {
  expect(() => config({ [`latchkey:${key}`]: value })).toThrow(`latchkey:${key}`);
});

it('refuses an unknown latchkey:* key (a typo must not deploy a default), naming it', () => {
  expect(() => config({ 'latchkey:auditRetentionDay': 30 })).toThrow('latchkey:auditRetentionDay');
});

it('reads super admins and policy rules (docs/tenancy.md), also given as JSON text with -c', () => {
  const admins = [
    'arn:aws:iam::123456789012:role/SecurityAdmins',
    'arn:aws:sts::123456789012:assumed-role/Ops/*',
  ];
  const rules = [
    {
      id: 'no-system-for-owners',
      effect: 'deny',
      actions: ['api_key:create'],
      when: { roles: ['org_owner'], scopes: ['system:*'] },
    },
    {
      id: 'office-hours',
      effect: 'warn',
      actions: ['api_key:*'],
      when: {
        time: {
          time_zone: 'Europe/Paris',
          days: ['mon', 'fri'],
          from: '09:00',
          to: '18:00',
          match: 'outside',
        },
      },
    },
  ];
  expect(config({ 'latchkey:superAdmins': admins, 'latchkey:policyRules': rules })).toMatchObject({
    superAdmins: admins,
    policyRules: rules,
  });
  expect(
    config({ 'latchkey:superAdmins': JSON.stringify(admins), 'latchkey:policyRules': JSON.stringify(rules) }),
  ).toMatchObject({ superAdmins: admins, policyRules: rules });
  expect(CONFIG_DEFAULTS).toMatchObject({ superAdmins: [], policyRules: [] });
});

describe('one change in cdk.json reaches AWS and the local stack alike', () => {
  const context = { 'latchkey:auditRetentionDays': 30, 'latchkey:expiryThresholdsDays': [10, 2] };
  let template: Template;
  let local: ReturnType<typeof localFunctionEnvironment>;

  beforeAll(() => {
    template = Template.fromStack(new LatchkeyStack(testApp({ context }), 'LatchkeyStack'));
    // The local stack reads cdk.json itself: give it a cdk.json holding the same change.
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-config-'));
    const file = join(dir, 'cdk.json');
    writeFileSync(file, JSON.stringify({ ...cdkJson, context: { ...cdkJson.context, ...context } }));
    const localConfig = readLocalConfig({}, file);
    local = localFunctionEnvironment(
      {
        tables: { keys: 'k', counters: 'c', audit: 'a', admin: 'd', apis: 'p' },
        kmsKeyId: 'key',
        eventBusName: 'bus',
      },
      localConfig,
    );
  });

  it.each((Object.values(functions) as FunctionDeclaration[]).map((f) => [f.name, f] as const))(
    '%s: the same variables, and the same setting values',
    (name, fn) => {
      const deployed = template.toJSON().Resources[functionId(template, fn)].Properties.Environment.Variables;
      const mine = local.byFunction[name] ?? {};
      // Lambda-only variables aside (lib/constructs/latchkey-function.ts).
      const lambdaOnly = Object.keys(runtimeEnvironment(fn));
      expect(
        Object.keys(deployed)
          .filter((k) => !lambdaOnly.includes(k))
          .sort(),
      ).toEqual(Object.keys(mine).sort());
      for (const setting of fn.settings ?? []) {
        const variable = SETTINGS[setting].name;
        // The account is where each runs: the deployment's own on AWS, the local stack's locally.
        if (setting === 'accountId') expect(deployed[variable]).toEqual({ Ref: 'AWS::AccountId' });
        // The local stack caches nothing, registrations included (docs/local-stack.md).
        // The console is hosted on AWS (CORS for its origin), same-origin locally (docs/console-on-aws.md).
        else if (setting === 'consoleOrigin') {
          expect(JSON.stringify(deployed[variable])).toContain('DomainName');
          expect(mine[variable]).toBe('none');
        } else if (setting === 'apiCacheSeconds')
          expect([deployed[variable], mine[variable]]).toEqual(['30', '0']);
        else expect(deployed[variable]).toBe(mine[variable]);
      }
    },
  );

  it('carries the changed values', () => {
    expect(local.byFunction[functions.auditConsumer.name]?.[SETTINGS.auditRetentionDays.name]).toBe('30');
    expect(local.byFunction[functions.authorizer.name]?.[SETTINGS.auditRetentionDays.name]).toBe('30');
    expect(local.byFunction[functions.expiryScanner.name]?.[SETTINGS.expiryThresholdsDays.name]).toBe('10,2');
  });
});
