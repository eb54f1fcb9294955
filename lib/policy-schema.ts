/**
 * The one schema of policy rules and admin principals (docs/tenancy.md), shared by the deploy
 * configuration (`latchkey:policyRules`, `latchkey:superAdmins` in `lib/config.ts`), the functions'
 * environment (`lib/function-environment.ts`) and `PUT /v1/organizations/{org}/policy`. zod/mini,
 * so the functions' bundles stay small.
 */
import * as z from 'zod/mini';
import { ACTION_PATTERN, PRINCIPAL_PATTERN, ROLES } from '../functions/domain/access';
import { isValidCidr } from '../functions/domain/ip-allowlist';
import { CLOCK_TIME, isTimeZone, type PolicyRule, WEEKDAYS } from '../functions/domain/policy';
import { TENANT_ID_PATTERN } from '../functions/domain/tenancy';
import { ENVIRONMENTS } from '../functions/domain/token';

/** Rule ids: `built_in:` is reserved for the built-in organization policies. */
const RULE_ID = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
const SCOPE_PATTERN = /^[a-z*][a-z0-9*-]*:[a-z*]+$/;
export const MAX_RULES = 50;

const list = <T extends z.ZodMiniType>(item: T, max: number) =>
  z.array(item).check(z.minLength(1, 'must not be empty'), z.maxLength(max, `at most ${max}`));
const unique = <T>(values: readonly T[]) => new Set(values).size === values.length;

export const principalSchema = z
  .string()
  .check(
    z.maxLength(1024, 'must be at most 1024 characters'),
    z.regex(
      PRINCIPAL_PATTERN,
      'must be an IAM principal ARN (arn:aws:iam::<account>:user/..., role/..., or arn:aws:sts::<account>:assumed-role/...), `*` allowed after the account',
    ),
  );

const clockTime = z.string().check(z.regex(CLOCK_TIME, 'must be HH:MM (24-hour)'));

const timeCondition = z
  .strictObject({
    time_zone: z
      .string()
      .check(z.maxLength(64), z.refine(isTimeZone, 'must be an IANA time zone, e.g. Europe/Paris')),
    days: z.optional(list(z.enum(WEEKDAYS), 7).check(z.refine(unique, 'must not repeat a day'))),
    from: clockTime,
    to: clockTime,
    match: z.enum(['inside', 'outside']),
  })
  .check(z.refine((t) => t.from !== t.to, { message: 'from and to must differ', path: ['to'] }));

const ipCondition = z.strictObject({
  cidrs: list(z.string().check(z.maxLength(64), z.refine(isValidCidr, 'must be an IPv4 or IPv6 CIDR')), 50),
  match: z.enum(['inside', 'outside']),
});

const conditions = z.strictObject({
  roles: z.optional(list(z.enum(ROLES), ROLES.length)),
  scopes: z.optional(
    list(
      z.string().check(z.regex(SCOPE_PATTERN, 'must be a scope or pattern, e.g. system:* or *:execute')),
      50,
    ),
  ),
  environments: z.optional(list(z.enum(ENVIRONMENTS), ENVIRONMENTS.length)),
  key_types: z.optional(list(z.enum(['workspace', 'organization', 'system']), 3)),
  organizations: z.optional(
    list(z.string().check(z.regex(TENANT_ID_PATTERN, 'is not an organization id')), 100),
  ),
  time: z.optional(timeCondition),
  source_ip: z.optional(ipCondition),
  elevated: z.optional(z.boolean()),
  expires_beyond_days: z.optional(z.int().check(z.minimum(1), z.maximum(3650))),
});

export const policyRuleSchema = z.strictObject({
  id: z.string().check(z.regex(RULE_ID, 'must be 1-64 of a-z, 0-9, _ . - (built_in: is reserved)')),
  description: z.optional(z.string().check(z.maxLength(512))),
  effect: z.enum(['deny', 'warn']),
  actions: list(
    z
      .string()
      .check(
        z.refine(
          (a) => a === '*' || ACTION_PATTERN.test(a) || /^[a-z][a-z_]*:\*$/.test(a),
          'must be an action (api_key:create), <resource>:* or *',
        ),
      ),
    30,
  ),
  when: conditions,
});

export const policyRulesSchema = z.array(policyRuleSchema).check(
  z.maxLength(MAX_RULES, `at most ${MAX_RULES} rules`),
  z.refine((rules) => unique(rules.map((r) => r.id)), 'rule ids must be unique'),
);

/** Checks that the schema's output is the domain's rule (a compile-time check, nothing at run time). */
export const asPolicyRules = (rules: z.output<typeof policyRulesSchema>): readonly PolicyRule[] => rules;

export const superAdminsSchema = z
  .array(principalSchema)
  .check(z.maxLength(100, 'at most 100 principals'), z.refine(unique, 'must not repeat a principal'));
