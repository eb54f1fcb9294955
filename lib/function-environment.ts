/**
 * The environment contract between whoever starts a function (the CDK stack, the reusable
 * authorizer construct, the local stack) and the function code that reads it.
 *
 * - Writers call `functionEnvironment(fn, sources)`: it emits exactly the variables `fn` needs:
 *   one per resource its declared `access` touches (table names, the KMS key, the event bus) and
 *   one per declared `settings` entry. A value the function needs but the writer lacks fails the
 *   build, naming it.
 * - Readers (`functions/shared/config.ts`) parse each variable with the schema below, on first use,
 *   with no defaults of their own: a missing or malformed variable fails naming it.
 *
 * Pure data and zod/mini (about 16 KB in each bundle, measured); no CDK import.
 */
import * as z from 'zod/mini';
import type { PolicyRule } from '../functions/domain/policy';
import { ENVIRONMENTS, type Environment } from '../functions/domain/token';
import { ACCESS_GRANTS } from './access-model';
import type { FunctionDeclaration, RouteScopeMap, Setting, TableId } from './declaration';
import { tables } from './declaration';

/** What a setting holds once parsed. */
export interface SettingValues {
  /** Audit items written by the function expire after this many days. */
  readonly auditRetentionDays: number;
  /** Days before expiry at which `ApiKeyExpiring` is sent, any order. */
  readonly expiryThresholdsDays: readonly number[];
  /** Feature flag `apiKeys.enabled`: false makes management routes answer 503. */
  readonly apiKeysEnabled: boolean;
  /** The protected API's environment; `null` admits keys of any environment. */
  readonly apiEnvironment: Environment | null;
  /** `"METHOD /path"` → scope: the routes of the built-in registration (the demo routes, or none). */
  readonly routeScopes: RouteScopeMap;
  /** The AWS account Latchkey runs in: the one account the built-in registration admits. */
  readonly accountId: string;
  /** How long the authorizer keeps a registration in memory; route-map changes apply within it. */
  readonly apiCacheSeconds: number;
  /** Principals (ARNs or patterns) the seed binds as super admins (docs/tenancy.md#seeding). */
  readonly superAdmins: readonly string[];
  /** Deploy-wide policy rules, evaluated before each organization's own. */
  readonly policyRules: readonly PolicyRule[];
  /** How long an authorizer instance reuses a key item it read; 0: never. */
  readonly keyCacheSeconds: number;
  /** When a source IP presenting invalid tokens is cooled down (docs/authorizer.md). */
  readonly sourceIpCoolDown: {
    readonly invalidTokens: number;
    readonly windowSeconds: number;
    readonly coolDownSeconds: number;
  };
  /** When a key used from many source IPs raises `ApiKeySuspicious` (docs/audit-and-events.md). */
  readonly suspiciousSourceIps: { readonly distinctIps: number; readonly windowMinutes: number };
  /**
   * The hosted console's origin (`https://<host>`), which management responses name in
   * `Access-Control-Allow-Origin` (docs/console-on-aws.md); `null`: no CORS headers (no hosted
   * console, or the local stack, where the console is same-origin).
   */
  readonly consoleOrigin: string | null;
}

/**
 * How a variable's text becomes its value: `undefined` for text it refuses. Each parser is a zod
 * schema (zod/mini, the small tree-shaken build, since every function bundles this file).
 */
interface Parser<T> {
  readonly parse: (raw: string) => T | undefined;
  /** Why text was refused, for the error naming the variable. */
  readonly expected: string;
}

interface Variable<T> {
  readonly name: string;
  readonly parser: Parser<T>;
  readonly format: (value: T) => string;
}

const variable = <T>(name: string, parser: Parser<T>, format: (value: T) => string) =>
  ({ name, parser, format }) satisfies Variable<T>;

const fromSchema = <T>(schema: z.ZodMiniType<T, string>, expected: string): Parser<T> => ({
  parse: (raw) => {
    const result = schema.safeParse(raw);
    return result.success ? result.data : undefined;
  },
  expected,
});

/** Text matching `pattern`, turned into a value by `convert`. */
const matching = <T>(pattern: RegExp, expected: string, convert: (s: string) => T): Parser<T> =>
  fromSchema(z.pipe(z.string().check(z.regex(pattern)), z.transform(convert)), expected);

/** JSON text whose value passes `inner`. */
const json = <T>(inner: z.ZodMiniType<T>, expected: string): Parser<T> =>
  fromSchema(
    z.pipe(
      z.string(),
      z.pipe(
        z.transform((s: string, ctx): unknown => {
          try {
            return JSON.parse(s);
          } catch {
            ctx.issues.push({ code: 'custom', message: 'must be JSON', input: s });
            return z.NEVER;
          }
        }),
        inner,
      ),
    ),
    expected,
  );

const nonEmpty = matching(/^[\s\S]+$/, 'must not be empty', String);
const wholeDays = matching(/^[1-9]\d{0,4}$/, 'must be a whole number of days', Number);
const dayList = matching(
  /^[1-9]\d{0,3}(,[1-9]\d{0,3})*$/,
  'must be comma-separated days, e.g. 14,7,1',
  (s): readonly number[] => s.split(',').map(Number),
);
const flag = matching(/^(true|false)$/, 'must be true or false', (s) => s === 'true');
// "any" rather than an absent variable: absence always means a writer forgot it.
const apiEnvironment = fromSchema(
  z.pipe(
    z.enum([...ENVIRONMENTS, 'any']),
    z.transform((s): Environment | null => (s === 'any' ? null : s)),
  ),
  `must be one of ${[...ENVIRONMENTS, 'any'].join(', ')}`,
);
const routeScopes: Parser<RouteScopeMap> = json(
  z.record(z.string(), z.string()),
  'must be a JSON object of "METHOD /path": "scope"',
);
const seconds = matching(/^(0|[1-9]\d{0,3})$/, 'must be a whole number of seconds', Number);
const accountId = matching(/^\d{12}$/, 'must be a 12-digit AWS account id', String);
/*
 * Deploy-wide super admins and policy rules: only their shape here. The deploy configuration's
 * schema (`lib/policy-schema.ts`) validated their content at synth, and the management functions,
 * which read them, check it again with that schema (`functions/shared/deploy-policy.ts`), so the
 * other functions do not bundle it.
 */
const superAdmins: Parser<readonly string[]> = json(
  z.array(z.string()),
  'must be a JSON array of IAM principal ARNs or patterns',
);
const policyRules = json(
  z.array(z.record(z.string(), z.unknown())),
  'must be a JSON array of policy rules (docs/tenancy.md)',
) as unknown as Parser<readonly PolicyRule[]>;
const wholeNumber = matching(/^(0|[1-9]\d{0,8})$/, 'must be a whole number', Number);
/** `"<a>,<b>,..."`: exactly `names.length` whole numbers, read into an object with those names. */
const numbers = <K extends string>(names: readonly K[]) =>
  matching(
    new RegExp(`^(0|[1-9]\\d{0,8})(,(0|[1-9]\\d{0,8})){${names.length - 1}}$`),
    `must be ${names.length} comma-separated whole numbers: ${names.join(',')}`,
    (s): Record<K, number> => {
      const values = s.split(',').map(Number);
      return Object.fromEntries(names.map((n, i) => [n, values[i] ?? 0])) as Record<K, number>;
    },
  );
// "none" rather than an absent variable, as for apiEnvironment.
const consoleOrigin = fromSchema(
  z.pipe(
    z.string().check(z.regex(/^(none|https:\/\/[A-Za-z0-9.-]+(:\d{1,5})?)$/)),
    z.transform((s): string | null => (s === 'none' ? null : s)),
  ),
  'must be "none" or an https origin, e.g. https://d111111abcdef8.cloudfront.net',
);
const COOL_DOWN_FIELDS = ['invalidTokens', 'windowSeconds', 'coolDownSeconds'] as const;
const SUSPICION_FIELDS = ['distinctIps', 'windowMinutes'] as const;

/** Every setting's variable: name, parser, and how writers encode it. */
export const SETTINGS: { readonly [K in Setting]: Variable<SettingValues[K]> } = {
  auditRetentionDays: variable('AUDIT_RETENTION_DAYS', wholeDays, String),
  expiryThresholdsDays: variable('EXPIRY_THRESHOLDS_DAYS', dayList, (days) => days.join(',')),
  apiKeysEnabled: variable('LATCHKEY_API_KEYS_ENABLED', flag, String),
  apiEnvironment: variable('LATCHKEY_API_ENVIRONMENT', apiEnvironment, (e) => e ?? 'any'),
  routeScopes: variable('LATCHKEY_ROUTE_SCOPES', routeScopes, (m) => JSON.stringify(m)),
  accountId: variable('LATCHKEY_ACCOUNT_ID', accountId, String),
  apiCacheSeconds: variable('LATCHKEY_API_CACHE_SECONDS', seconds, String),
  superAdmins: variable('LATCHKEY_SUPER_ADMINS', superAdmins, (list) => JSON.stringify(list)),
  policyRules: variable('LATCHKEY_POLICY_RULES', policyRules, (rules) => JSON.stringify(rules)),
  keyCacheSeconds: variable('LATCHKEY_KEY_CACHE_SECONDS', wholeNumber, String),
  sourceIpCoolDown: variable('LATCHKEY_IP_COOL_DOWN', numbers(COOL_DOWN_FIELDS), (c) =>
    COOL_DOWN_FIELDS.map((f) => c[f]).join(','),
  ),
  suspiciousSourceIps: variable('LATCHKEY_SUSPICIOUS_IPS', numbers(SUSPICION_FIELDS), (c) =>
    SUSPICION_FIELDS.map((f) => c[f]).join(','),
  ),
  consoleOrigin: variable('LATCHKEY_CONSOLE_ORIGIN', consoleOrigin, (o) => o ?? 'none'),
};

/** Resource variables: where a function finds what its access touches. */
export const RESOURCES = {
  kmsKeyId: variable('KMS_KEY_ID', nonEmpty, String),
  eventBusName: variable('EVENT_BUS_NAME', nonEmpty, String),
  table: (id: TableId) => variable(tables[id].envVar, nonEmpty, String),
} as const;

/** What a writer knows: resource names (CDK tokens on AWS) and setting values. */
export interface EnvironmentSources {
  readonly tables: Partial<Readonly<Record<TableId, string>>>;
  readonly kmsKeyId?: string;
  readonly eventBusName?: string;
  readonly settings: Partial<SettingValues>;
}

function required<T>(value: T | undefined, what: string, fn: FunctionDeclaration): T {
  if (value === undefined) throw new Error(`${fn.name} needs ${what}, but none was given`);
  return value;
}

/** The exact environment variables `fn` needs, from its declared access and settings. */
export function functionEnvironment(
  fn: FunctionDeclaration,
  sources: EnvironmentSources,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const access of fn.access) {
    const grant = ACCESS_GRANTS[access];
    if (grant.service === 'dynamodb') {
      out[tables[grant.table].envVar] = required(sources.tables[grant.table], `the ${grant.table} table`, fn);
    } else if (grant.service === 'kms') {
      out[RESOURCES.kmsKeyId.name] = required(sources.kmsKeyId, 'the KMS key', fn);
    } else if (grant.service === 'events') {
      out[RESOURCES.eventBusName.name] = required(sources.eventBusName, 'the event bus', fn);
    }
    // secretsmanager: destinations are named per key, not by the environment.
  }
  for (const setting of fn.settings ?? []) {
    const value = required(sources.settings[setting], `setting ${setting}`, fn);
    // Each variable's format matches its own setting; TypeScript cannot correlate the two here.
    out[SETTINGS[setting].name] = (SETTINGS[setting].format as (v: unknown) => string)(value);
  }
  return out;
}
