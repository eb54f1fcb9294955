/**
 * Deploy-time configuration: the `latchkey:*` keys of `cdk.json` context (or `-c key=value`),
 * validated by one zod schema that also holds every default. `readConfig` serves the CDK app and
 * `readLocalConfig` the local stack, so the same `cdk.json` configures both; each key, its default
 * and whether the local stack honours it are listed in docs/configuration.md.
 *
 * An unknown `latchkey:*` key is refused (a typo must not deploy a default silently), and so is a
 * bad value, with a message naming the key.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Construct } from 'constructs';
import { z } from 'zod';
import { ENVIRONMENTS } from '../functions/domain/token';
import { routeScopeMap, servedRoutes } from './declaration';
import type { SettingValues } from './function-environment';
import { policyRulesSchema, superAdminsSchema } from './policy-schema';

/** CloudWatch Logs accepts only these retention periods (days). */
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

const int = (min: number, max: number) => z.int().min(min).max(max);

/** Values given with `-c` arrive as text: read JSON where the key expects a number, list, object or null. */
const fromText = <T extends z.core.$ZodType>(schema: T) =>
  z.preprocess((value) => {
    if (typeof value !== 'string') return value;
    if (value === '') return null;
    try {
      return JSON.parse(value);
    } catch {
      return value;
    }
  }, schema);

/** What a cooled-down source IP is (docs/authorizer.md#junk-and-cool-down). */
const coolDown = z
  .object({
    /** Invalid tokens from one IP within `windowSeconds` that start a cool-down; 0 turns it off. */
    invalidTokens: int(0, 100_000),
    windowSeconds: int(1, 3600),
    coolDownSeconds: int(1, 86_400),
  })
  .strict();

/** When a key counts as seen from an unusual number of source IPs (docs/audit-and-events.md). */
const suspicion = z
  .object({
    /** Distinct source IPs in one window that raise `ApiKeySuspicious`; 0 turns it off. */
    distinctIps: z.union([z.literal(0), int(2, 1000)]),
    windowMinutes: int(1, 1440),
  })
  .strict();

/** The cache choices with a default, kept apart so the one rule between them has a single home. */
const LIMITS_ENFORCEMENT = ['exact', 'cached'] as const;

export const configSchema = z
  .object({
    /**
     * `exact` (default): API Gateway's authorizer cache is off, every request reaches the authorizer
     * and rate limits and quotas count every request. `cached`: the cache is on for
     * `authorizerCacheTtlSeconds`; requests answered from it are neither counted nor limited
     * (docs/authorizer.md#caching-limits-and-revocation-delay).
     */
    limitsEnforcement: z.enum(LIMITS_ENFORCEMENT).default('exact'),
    /**
     * How long API Gateway caches an authorizer policy (the revocation delay on AWS). Only with
     * `limitsEnforcement: cached` (default 60 there); `exact` means 0.
     */
    authorizerCacheTtlSeconds: fromText(int(0, 3600)).optional(),
    /** How long an authorizer instance reuses a key item it read (0: read on every request). */
    authorizerKeyCacheSeconds: fromText(int(0, 300)).default(0),
    /** The cool-down of a source IP that keeps presenting invalid tokens. */
    sourceIpCoolDown: fromText(coolDown).default({
      invalidTokens: 20,
      windowSeconds: 60,
      coolDownSeconds: 300,
    }),
    /** `ApiKeySuspicious` when a key is used from this many source IPs within the window. */
    suspiciousSourceIps: fromText(suspicion).default({ distinctIps: 20, windowMinutes: 60 }),
    /** Audit items expire (TTL) after this many days. */
    auditRetentionDays: fromText(int(1, 36500)).default(400),
    /** The environment keys must have to call the demo routes; `null` admits any. */
    demoApiEnvironment: fromText(z.enum(ENVIRONMENTS).nullable()).default('development'),
    /** Days before expiry at which `ApiKeyExpiring` is sent (docs/audit-and-events.md). */
    expiryThresholdsDays: fromText(z.array(int(1, 3650)).min(1)).default([14, 7, 1]),
    /** Feature flag `apiKeys.enabled`: false makes the management routes answer 503. */
    apiKeysEnabled: fromText(z.boolean()).default(true),
    /** Stage throttling of the REST API. */
    throttle: fromText(z.object({ rateLimit: int(1, 10_000), burstLimit: int(1, 5_000) }).strict()).default({
      rateLimit: 100,
      burstLimit: 200,
    }),
    /** Retention of every function log group and the API access log (a CloudWatch value). */
    logRetentionDays: fromText(
      z.int().refine((d) => (LOG_RETENTION_DAYS as readonly number[]).includes(d), {
        message: `must be one of ${LOG_RETENTION_DAYS.join(', ')}`,
      }),
    ).default(365),
    /** The custom EventBridge bus (one Latchkey stack per account and region keeps the name `latchkey`). */
    eventBusName: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,256}$/, 'must be an EventBridge bus name')
      .default('latchkey'),
    /** Alarm when the audit stream consumer falls this far behind. */
    iteratorAgeAlarmMinutes: fromText(int(1, 24 * 60)).default(5),
    /** Set the account's API Gateway logging role (false when the account already has one). */
    apiGatewayCloudWatchRole: fromText(z.boolean()).default(true),
    /**
     * IAM principals (ARNs or `*` patterns) bound as super admins on deploy and local start, if not
     * bound yet (docs/tenancy.md#seeding). Removing one here does not unbind it.
     */
    superAdmins: fromText(superAdminsSchema).default([]),
    /** Policy rules for every organization, evaluated before each organization's own (docs/tenancy.md). */
    policyRules: fromText(policyRulesSchema).default([]),
    /** A REGIONAL WAFv2 web ACL to associate with the API stage; `null` for none. */
    webAclArn: fromText(
      z
        .string()
        .regex(/^arn:aws[\w-]*:wafv2:/, 'must be a WAFv2 web ACL ARN')
        .nullable(),
    ).default(null),
    /** Serve the demo routes (`/demo/*`) and give the built-in registration their route map. */
    demoRoutes: fromText(z.boolean()).default(true),
    /** How long the authorizer keeps an API registration in memory: route-map changes apply within it. */
    apiCacheSeconds: fromText(int(0, 300)).default(30),
    /**
     * Other AWS accounts whose API Gateway APIs may invoke the shared authorizer (its own account
     * always may): one Lambda permission each, conditioned on `aws:SourceAccount`.
     */
    consumerAccounts: fromText(
      z.array(z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id')).max(50),
    ).default([]),
    /** Where the stack publishes what consumers need (SSM parameters: authorizer ARN, API URL, ...). */
    parameterPrefix: z
      .string()
      .regex(/^\/([A-Za-z0-9_.-]+\/)*$/, 'must be an SSM path starting and ending with "/", e.g. /latchkey/')
      .max(200)
      .default('/latchkey/'),
    /** SNS topic every alarm notifies; `null` creates one (stack output `AlarmTopicArn`). */
    alarmTopicArn: fromText(
      z
        .string()
        .regex(/^arn:aws[\w-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/, 'must be an SNS topic ARN')
        .nullable(),
    ).default(null),
    /**
     * Host the admin console on AWS (docs/console-on-aws.md): S3 + CloudFront, a Cognito user pool
     * with MFA required and an identity pool mapping its groups to IAM roles; false deploys none of it.
     */
    console: fromText(z.boolean()).default(true),
    /**
     * The Cognito hosted UI's domain prefix (`https://<prefix>.auth.<region>.amazoncognito.com`),
     * unique in the region; `null` derives one from the stack name and the account.
     */
    consoleDomainPrefix: fromText(
      z
        .string()
        .regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, 'must be 1-63 lowercase letters, digits and hyphens')
        .refine((p) => !/aws|amazon|cognito/.test(p), {
          message: 'must not contain "aws", "amazon" or "cognito" (Cognito refuses them)',
        })
        .nullable(),
    ).default(null),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.limitsEnforcement === 'exact' && (c.authorizerCacheTtlSeconds ?? 0) > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['authorizerCacheTtlSeconds'],
        message:
          'must be 0 with limitsEnforcement "exact" (cached answers would bypass rate limits and quotas); ' +
          'set latchkey:limitsEnforcement to "cached" to accept that',
      });
    }
  })
  .transform((c) => ({
    ...c,
    authorizerCacheTtlSeconds: c.authorizerCacheTtlSeconds ?? (c.limitsEnforcement === 'cached' ? 60 : 0),
  }));

export type LatchkeyConfig = z.output<typeof configSchema>;
export type ThrottleConfig = LatchkeyConfig['throttle'];

/** The defaults, from the schema itself (there is no second list). */
export const CONFIG_DEFAULTS: LatchkeyConfig = configSchema.parse({});

const PREFIX = 'latchkey:';

/** Validates `latchkey:*` keys of a context object (other keys are ignored); throws naming each bad key. */
export function parseConfig(context: Readonly<Record<string, unknown>>): LatchkeyConfig {
  const values = Object.fromEntries(
    Object.entries(context)
      .filter(([k]) => k.startsWith(PREFIX))
      .map(([k, v]) => [k.slice(PREFIX.length), v]),
  );
  const result = configSchema.safeParse(values);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return `unknown context ${issue.keys.map((k) => `"${PREFIX}${k}"`).join(', ')} (see docs/configuration.md)`;
    }
    const key = issue.path.join('.');
    return `cdk.json context "${PREFIX}${key}" ${issue.message}; got ${JSON.stringify(values[String(issue.path[0])])}`;
  });
  throw new Error(`Invalid Latchkey configuration: ${problems.join('; ')}`);
}

/** Every `latchkey:*` context key under `scope` (usually the app). */
export function readConfig(scope: Construct): LatchkeyConfig {
  return parseConfig(scope.node.getAllContext());
}

/**
 * The same configuration for the local stack: `cdk.json`'s context (where ops set it for AWS), then
 * `overrides` (tests, flags). Keys that only mean something on AWS are read and validated, and
 * ignored by the local stack (docs/configuration.md says which).
 */
export function readLocalConfig(
  overrides: Readonly<Record<string, unknown>> = {},
  cdkJsonPath = join(__dirname, '..', 'cdk.json'),
): LatchkeyConfig {
  const file = JSON.parse(readFileSync(cdkJsonPath, 'utf8')) as { context?: Record<string, unknown> };
  return parseConfig({
    ...file.context,
    ...Object.fromEntries(Object.entries(overrides).map(([k, v]) => [`${PREFIX}${k}`, v])),
  });
}

/**
 * The settings Latchkey's functions get from `config` and the account they run in (a CDK token on
 * AWS). The built-in registration is the demo routes, or no route at all when they are off.
 */
export function functionSettings(
  config: LatchkeyConfig,
  accountId: string,
  /** The hosted console's origin (a CDK token on AWS); `null` where there is none or it is same-origin. */
  consoleOrigin: string | null = null,
): SettingValues {
  return {
    auditRetentionDays: config.auditRetentionDays,
    expiryThresholdsDays: config.expiryThresholdsDays,
    apiKeysEnabled: config.apiKeysEnabled,
    apiEnvironment: config.demoApiEnvironment,
    routeScopes: routeScopeMap(servedRoutes(config)),
    accountId,
    apiCacheSeconds: config.apiCacheSeconds,
    superAdmins: config.superAdmins,
    policyRules: config.policyRules,
    keyCacheSeconds: config.authorizerKeyCacheSeconds,
    sourceIpCoolDown: config.sourceIpCoolDown,
    suspiciousSourceIps: config.suspiciousSourceIps,
    consoleOrigin,
  };
}
