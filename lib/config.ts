/**
 * Deploy-time parameters, read from CDK context (`cdk.json` or `cdk deploy -c key=value`).
 *
 * Every key is optional: `CONFIG_DEFAULTS` applies when it is absent. Values given with `-c` arrive
 * as strings, so each one is parsed and range-checked here; a bad value fails the synth with a
 * message naming the key rather than deploying something surprising.
 */
import type { Construct } from 'constructs';
import { ENVIRONMENTS, type Environment } from '../functions/domain/token';

export interface ThrottleConfig {
  /** Steady-state requests per second for the whole stage. */
  readonly rateLimit: number;
  /** Requests per second the stage absorbs in a burst. */
  readonly burstLimit: number;
}

export interface LatchkeyConfig {
  /** `latchkey:authorizerCacheTtlSeconds`: how long API Gateway caches an authorizer policy (0 to 3600; docs/authorizer.md). */
  readonly authorizerCacheTtlSeconds: number;
  /** `latchkey:auditRetentionDays`: audit items expire (TTL) after this many days (docs/architecture.md). */
  readonly auditRetentionDays: number;
  /** `latchkey:demoApiEnvironment`: the environment keys must have to call the demo routes; `null` for any. */
  readonly demoApiEnvironment: Environment | undefined;
  /** `latchkey:expiryThresholdsDays`: days before expiry at which `ApiKeyExpiring` is sent (docs/audit-and-events.md). */
  readonly expiryThresholdsDays: readonly number[];
  /** `latchkey:apiKeysEnabled`: feature flag `apiKeys.enabled`; false makes management routes answer 503 (docs/management-api.md). */
  readonly apiKeysEnabled: boolean;
  /** `latchkey:throttle`: stage throttling, `{ "rateLimit": n, "burstLimit": n }`. */
  readonly throttle: ThrottleConfig;
  /** `latchkey:superAdmins`: IAM principal ARNs (with `*` patterns) bound to `super_admin` at first deploy (docs/management-api.md). */
  readonly superAdmins: readonly string[];
  /** `latchkey:logRetentionDays`: retention of every function log group and the API access log (a CloudWatch value). */
  readonly logRetentionDays: number;
  /** `latchkey:eventBusName`: the custom EventBridge bus; docs/audit-and-events.md names it `latchkey` (one stack per account/region). */
  readonly eventBusName: string;
  /** `latchkey:iteratorAgeAlarmMinutes`: alarm when the audit stream consumer falls this far behind. */
  readonly iteratorAgeAlarmMinutes: number;
  /** `latchkey:apiGatewayCloudWatchRole`: set the account's API Gateway logging role (false if the account already has one). */
  readonly apiGatewayCloudWatchRole: boolean;
  /** `latchkey:webAclArn`: a WAFv2 web ACL (REGIONAL) to associate with the API stage; `null` for none. */
  readonly webAclArn: string | undefined;
}

export const CONFIG_DEFAULTS: LatchkeyConfig = {
  authorizerCacheTtlSeconds: 60,
  auditRetentionDays: 400,
  demoApiEnvironment: 'development',
  expiryThresholdsDays: [14, 7, 1],
  apiKeysEnabled: true,
  throttle: { rateLimit: 100, burstLimit: 200 },
  superAdmins: [],
  logRetentionDays: 365,
  eventBusName: 'latchkey',
  iteratorAgeAlarmMinutes: 5,
  apiGatewayCloudWatchRole: true,
  webAclArn: undefined,
};

/** CloudWatch Logs accepts only these retention periods (days). */
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

class ConfigError extends Error {
  constructor(key: string, expected: string, value: unknown) {
    super(`cdk.json context "latchkey:${key}" must be ${expected}; got ${JSON.stringify(value)}`);
  }
}

/** `-c key=[1,2]` arrives as a string: accept JSON text wherever a structured value is expected. */
function parsed(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

function integer(key: string, value: unknown, min: number, max: number): number {
  const n = parsed(value);
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(key, `an integer from ${min} to ${max}`, value);
  }
  return n;
}

function boolean(key: string, value: unknown): boolean {
  const b = parsed(value);
  if (typeof b !== 'boolean') throw new ConfigError(key, 'true or false', value);
  return b;
}

/** Reads and validates every `latchkey:*` context key under `scope` (usually the app). */
export function readConfig(scope: Construct): LatchkeyConfig {
  const get = (key: string): unknown => scope.node.tryGetContext(`latchkey:${key}`);
  const d = CONFIG_DEFAULTS;
  const present = (v: unknown) => v !== undefined;

  const ttl = get('authorizerCacheTtlSeconds');
  const retention = get('auditRetentionDays');
  const environment = get('demoApiEnvironment');
  const thresholds = parsed(get('expiryThresholdsDays'));
  const enabled = get('apiKeysEnabled');
  const throttle = parsed(get('throttle'));
  const admins = parsed(get('superAdmins'));
  const logs = get('logRetentionDays');
  const bus = get('eventBusName');
  const iteratorAge = get('iteratorAgeAlarmMinutes');
  const cloudWatchRole = get('apiGatewayCloudWatchRole');
  const webAcl = get('webAclArn');

  if (present(thresholds) && (!Array.isArray(thresholds) || thresholds.length === 0)) {
    throw new ConfigError('expiryThresholdsDays', 'a non-empty array of days, e.g. [14, 7, 1]', thresholds);
  }
  if (
    present(throttle) &&
    (typeof throttle !== 'object' ||
      throttle === null ||
      !('rateLimit' in throttle) ||
      !('burstLimit' in throttle))
  ) {
    throw new ConfigError('throttle', '{ "rateLimit": <rps>, "burstLimit": <requests> }', throttle);
  }
  if (
    present(admins) &&
    (!Array.isArray(admins) || admins.some((a) => typeof a !== 'string' || !/^arn:/.test(a)))
  ) {
    throw new ConfigError('superAdmins', 'an array of IAM principal ARNs', admins);
  }
  // null or "" turns the environment check off; anything else must be a known environment.
  let demoApiEnvironment = d.demoApiEnvironment;
  if (environment === null || environment === '') demoApiEnvironment = undefined;
  else if (present(environment)) {
    demoApiEnvironment = ENVIRONMENTS.find((e) => e === environment);
    if (!demoApiEnvironment)
      throw new ConfigError('demoApiEnvironment', `one of ${ENVIRONMENTS.join(', ')} or null`, environment);
  }
  const logRetentionDays = present(logs) ? integer('logRetentionDays', logs, 1, 3653) : d.logRetentionDays;
  if (!LOG_RETENTION_DAYS.includes(logRetentionDays)) {
    throw new ConfigError('logRetentionDays', `one of ${LOG_RETENTION_DAYS.join(', ')}`, logs);
  }
  if (present(bus) && (typeof bus !== 'string' || !/^[A-Za-z0-9._-]{1,256}$/.test(bus))) {
    throw new ConfigError('eventBusName', 'an EventBridge bus name', bus);
  }
  if (
    present(webAcl) &&
    webAcl !== null &&
    (typeof webAcl !== 'string' || !/^arn:aws[\w-]*:wafv2:/.test(webAcl))
  ) {
    throw new ConfigError('webAclArn', 'a WAFv2 web ACL ARN or null', webAcl);
  }

  const t = throttle as { rateLimit?: unknown; burstLimit?: unknown } | undefined;
  return {
    authorizerCacheTtlSeconds: present(ttl)
      ? integer('authorizerCacheTtlSeconds', ttl, 0, 3600)
      : d.authorizerCacheTtlSeconds,
    auditRetentionDays: present(retention)
      ? integer('auditRetentionDays', retention, 1, 36500)
      : d.auditRetentionDays,
    demoApiEnvironment,
    expiryThresholdsDays: Array.isArray(thresholds)
      ? thresholds.map((days) => integer('expiryThresholdsDays', days, 1, 3650))
      : d.expiryThresholdsDays,
    apiKeysEnabled: present(enabled) ? boolean('apiKeysEnabled', enabled) : d.apiKeysEnabled,
    throttle: t
      ? {
          rateLimit: integer('throttle.rateLimit', t.rateLimit, 1, 10_000),
          burstLimit: integer('throttle.burstLimit', t.burstLimit, 1, 5_000),
        }
      : d.throttle,
    superAdmins: Array.isArray(admins) ? (admins as string[]) : d.superAdmins,
    logRetentionDays,
    eventBusName: typeof bus === 'string' ? bus : d.eventBusName,
    iteratorAgeAlarmMinutes: present(iteratorAge)
      ? integer('iteratorAgeAlarmMinutes', iteratorAge, 1, 24 * 60)
      : d.iteratorAgeAlarmMinutes,
    apiGatewayCloudWatchRole: present(cloudWatchRole)
      ? boolean('apiGatewayCloudWatchRole', cloudWatchRole)
      : d.apiGatewayCloudWatchRole,
    webAclArn: typeof webAcl === 'string' ? webAcl : undefined,
  };
}
