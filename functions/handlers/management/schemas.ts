/** Request schemas of the management API (docs/management-api.md). Every refusal names the field. */
import { z } from 'zod';
import type { RotationPolicy } from '../../domain/api-key';
import { jsonObjectProblem, unsafeCharacter, utcInstant } from '../../domain/input';
import { isValidCidr } from '../../domain/ip-allowlist';
import {
  MAX_RATE_WINDOW_SECONDS,
  MAX_REFILL_INTERVAL_SECONDS,
  MIN_REFILL_INTERVAL_SECONDS,
  parseInterval,
} from '../../domain/rate-limit';
import { isSystemScope, SCOPE_PATTERN } from '../../domain/scopes';
import { ENVIRONMENTS } from '../../domain/token';

export const MAX_GRACE_SECONDS = 7 * 24 * 3600;
export const MAX_METADATA_BYTES = 4096;
/** Levels of objects/arrays in metadata, the object itself included. */
export const MAX_METADATA_DEPTH = 10;
const DAY_SECONDS = 86_400;

const tenantId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'must be 1-64 letters, digits, _ . -');

// The format only: whether a scope exists (the catalog, or a registered API's) is the service's
// check, since registered scopes live in the database (docs/scopes.md).
export const scopeList = z
  .array(z.string().regex(SCOPE_PATTERN, 'must look like <module>:<read|write|execute|admin>'))
  .min(1, 'at least one scope is required')
  .max(50)
  .transform((s) => [...new Set(s)]);

const TIMESTAMP_SYNTAX = 'must be an ISO-8601 timestamp, e.g. 2030-01-31T00:00:00Z';

/**
 * An ISO-8601 timestamp (any offset), stored as the UTC instant it names in `toISOString()` form,
 * the form sort keys and the expiry index use. One that has no 4-digit-year UTC form, or carries
 * more than milliseconds, is refused rather than stored changed.
 */
function instantSchema(options: { future?: boolean } = {}) {
  return z.iso.datetime({ offset: true, error: TIMESTAMP_SYNTAX }).transform((s, ctx) => {
    const instant = utcInstant(s);
    if (instant === undefined) {
      ctx.issues.push({
        code: 'custom',
        input: s,
        message:
          'must name an instant from 0000-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z in UTC, to the millisecond at most',
      });
      return z.NEVER;
    }
    if (options.future && Date.parse(instant) <= Date.now()) {
      ctx.issues.push({ code: 'custom', input: s, message: 'must be in the future' });
      return z.NEVER;
    }
    return instant;
  });
}
export const instant = instantSchema();
const futureInstant = instantSchema({ future: true });

/**
 * Text people read in consoles and logs: no control characters (tabs and line breaks only where
 * `lineBreaks`), no bidi embeddings/overrides/isolates, no unpaired surrogates.
 */
export function displayText(schema: z.ZodString, lineBreaks = false) {
  return schema.superRefine((s, ctx) => {
    const found = unsafeCharacter(s, lineBreaks);
    if (found) {
      ctx.addIssue({
        code: 'custom',
        message: `must not contain ${found} (control characters, bidirectional overrides and unpaired surrogates are refused)`,
      });
    }
  });
}

const name = (required: string) =>
  displayText(z.string().trim().min(1, required).max(128, 'must be at most 128 characters'));
const description = displayText(z.string().max(1024, 'must be at most 1024 characters'), true);

const ipAllowlist = z
  .array(
    z
      .string()
      .max(64)
      .refine(isValidCidr, { error: (i) => `${JSON.stringify(i.input)} is not a valid CIDR` }),
  )
  .max(50, 'at most 50 ranges');

/** A JSON object of at most 4 KB and 10 levels, checked on the raw parsed value (see jsonObjectProblem). */
const metadata = z.unknown().transform((value, ctx) => {
  const problem =
    jsonObjectProblem(value, MAX_METADATA_DEPTH) ??
    (Buffer.byteLength(JSON.stringify(value), 'utf8') > MAX_METADATA_BYTES
      ? 'must be at most 4 KB as JSON'
      : undefined);
  if (problem) {
    ctx.issues.push({ code: 'custom', input: value, message: problem });
    return z.NEVER;
  }
  return value as Readonly<Record<string, unknown>>;
});

/**
 * The grace period must end before the next scheduled rotation falls due, so a scheduled rotation
 * never meets its own open grace (docs/key-changes.md). Without one given: a day, or half the
 * period when that is shorter.
 */
export const rotationPolicy = z
  .object({
    every_days: z.int().min(1).max(365),
    grace_period_seconds: z.int().min(0).max(MAX_GRACE_SECONDS).optional(),
    destination: z
      .string()
      .regex(
        /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:latchkey\/[A-Za-z0-9/_+=.@-]+$/,
        'must be a Secrets Manager secret ARN under latchkey/',
      ),
  })
  .strict()
  .transform((p, ctx): RotationPolicy => {
    const period = p.every_days * DAY_SECONDS;
    const grace = p.grace_period_seconds ?? Math.min(DAY_SECONDS, period / 2);
    if (grace >= period) {
      ctx.issues.push({
        code: 'custom',
        input: p.grace_period_seconds,
        path: ['grace_period_seconds'],
        message: `must be shorter than every_days (${period} seconds)`,
      });
      return z.NEVER;
    }
    return { every_days: p.every_days, grace_period_seconds: grace, destination: p.destination };
  });

const rateLimit = z.int().min(1).max(1_000_000);
const rateWindow = z.int().min(1).max(MAX_RATE_WINDOW_SECONDS);
const MAX_QUOTA = 1_000_000_000;
const remaining = z.int().min(0).max(MAX_QUOTA);
const refillAmount = z.int().min(1).max(MAX_QUOTA);
/** Whole seconds, or a number with a unit (`"30m"`, `"1h"`, `"7d"`); stored and shown as seconds. */
const refillInterval = z.union([z.int(), z.string().max(16)]).transform((v, ctx) => {
  const seconds = parseInterval(v);
  if (
    seconds === undefined ||
    seconds < MIN_REFILL_INTERVAL_SECONDS ||
    seconds > MAX_REFILL_INTERVAL_SECONDS
  ) {
    ctx.issues.push({
      code: 'custom',
      input: v,
      message: `must be ${MIN_REFILL_INTERVAL_SECONDS}..${MAX_REFILL_INTERVAL_SECONDS} seconds, as a number of seconds or e.g. "30m", "1h", "7d"`,
    });
    return z.NEVER;
  }
  return seconds;
});

export const createKeyBody = z
  .object({
    name: name('is required'),
    description: description.optional(),
    scopes: scopeList,
    environment: z.enum(ENVIRONMENTS).default('development'),
    expires_at: futureInstant.optional(),
    expires_in_days: z.int().min(1).max(3650).optional(),
    rate_limit: rateLimit.optional(),
    rate_limit_window_seconds: rateWindow.optional(),
    remaining: remaining.optional(),
    refill_amount: refillAmount.optional(),
    refill_interval: refillInterval.optional(),
    ip_allowlist: ipAllowlist.optional(),
    organization_id: tenantId.default('default'),
    workspace_id: tenantId.optional(),
    key_type: z.enum(['workspace', 'organization', 'system']).default('workspace'),
    metadata: metadata.optional(),
    rotation: rotationPolicy.optional(),
  })
  .strict()
  .superRefine((b, ctx) => {
    if (b.expires_at && b.expires_in_days) {
      ctx.addIssue({
        code: 'custom',
        path: ['expires_in_days'],
        message: 'give expires_at or expires_in_days, not both',
      });
    }
    if (b.rate_limit_window_seconds !== undefined && b.rate_limit === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['rate_limit_window_seconds'],
        message: 'needs rate_limit (the limit this window is for)',
      });
    }
    if ((b.refill_amount === undefined) !== (b.refill_interval === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [b.refill_amount === undefined ? 'refill_amount' : 'refill_interval'],
        message: 'give refill_amount and refill_interval together',
      });
    }
    if (b.key_type !== 'workspace' && b.workspace_id) {
      ctx.addIssue({
        code: 'custom',
        path: ['workspace_id'],
        message: `a ${b.key_type} key has no workspace`,
      });
    }
    if (b.key_type !== 'system') {
      b.scopes.forEach((s, i) => {
        if (isSystemScope(s))
          ctx.addIssue({ code: 'custom', path: ['scopes', i], message: `${s} is for system keys only` });
      });
    }
  });
export type CreateKeyBody = z.infer<typeof createKeyBody>;

export const updateKeyBody = z
  .object({
    name: name('must not be empty'),
    description: description.nullable(),
    scopes: scopeList,
    rate_limit: rateLimit.nullable(),
    rate_limit_window_seconds: rateWindow.nullable(),
    remaining: remaining.nullable(),
    refill_amount: refillAmount.nullable(),
    refill_interval: refillInterval.nullable(),
    ip_allowlist: ipAllowlist.nullable(),
    expires_at: futureInstant.nullable(),
    enabled: z.boolean(),
    metadata: metadata.nullable(),
    rotation: rotationPolicy.nullable(),
  })
  .partial()
  .strict()
  .refine((b) => Object.keys(b).length > 0, 'give at least one field to change');
export type UpdateKeyBody = z.infer<typeof updateKeyBody>;

export const rotateKeyBody = z
  .object({
    grace_period_seconds: z.int().min(0).max(MAX_GRACE_SECONDS).default(0),
    end_previous_grace: z.boolean().default(false),
  })
  .strict()
  .optional()
  .transform((b) => b ?? { grace_period_seconds: 0, end_previous_grace: false });
export type RotateKeyBody = z.infer<typeof rotateKeyBody>;

export const keyIdParams = z.object({ id: z.string() });

const limit = z.coerce.number().int().min(1).max(100).default(25);
const nextToken = z.string().max(2048).optional();

export const listKeysQuery = z
  .object({
    status: z.enum(['active', 'disabled', 'expired', 'revoked']).optional(),
    environment: z.enum(ENVIRONMENTS).optional(),
    scope: z.string().regex(SCOPE_PATTERN, 'must look like <module>:<permission>').optional(),
    organization_id: tenantId.optional(),
    workspace_id: tenantId.optional(),
    limit,
    next_token: nextToken,
  })
  .strict();

export const pageQuery = z.object({ limit, next_token: nextToken }).strict();

/** For the tenancy schemas (tenancy-schemas.ts): the same rules for names and ids. */
export { name as displayName, tenantId };
