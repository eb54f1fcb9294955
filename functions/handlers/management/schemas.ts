/** Request schemas of the management API (docs/management-api.md). Every refusal names the field. */
import { z } from 'zod';
import { isValidCidr } from '../../domain/ip-allowlist';
import { catalogEntry, isSystemScope, SCOPE_PATTERN } from '../../domain/scopes';
import { ENVIRONMENTS } from '../../domain/token';

export const MAX_GRACE_SECONDS = 7 * 24 * 3600;
export const MAX_METADATA_BYTES = 4096;

const tenantId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'must be 1-64 letters, digits, _ . -');

export const scopeList = z
  .array(
    z
      .string()
      .regex(SCOPE_PATTERN, 'must look like <module>:<read|write|execute|admin>')
      .refine((s) => catalogEntry(s) !== undefined, {
        error: (i) => `unknown scope ${JSON.stringify(i.input)}`,
      }),
  )
  .min(1, 'at least one scope is required')
  .max(50)
  .transform((s) => [...new Set(s)]);

const futureTimestamp = z.iso
  .datetime({ offset: true, error: 'must be an ISO-8601 timestamp, e.g. 2030-01-31T00:00:00Z' })
  .transform((s) => new Date(s).toISOString())
  .refine((s) => Date.parse(s) > Date.now(), 'must be in the future');

const ipAllowlist = z
  .array(
    z
      .string()
      .max(64)
      .refine(isValidCidr, { error: (i) => `${JSON.stringify(i.input)} is not a valid CIDR` }),
  )
  .max(50, 'at most 50 ranges');

const metadata = z
  .record(z.string(), z.unknown())
  .refine(
    (m) => Buffer.byteLength(JSON.stringify(m), 'utf8') <= MAX_METADATA_BYTES,
    'must be at most 4 KB as JSON',
  );

export const rotationPolicy = z
  .object({
    every_days: z.int().min(1).max(365),
    grace_period_seconds: z.int().min(0).max(MAX_GRACE_SECONDS).default(86400),
    destination: z
      .string()
      .regex(
        /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:latchkey\/[A-Za-z0-9/_+=.@-]+$/,
        'must be a Secrets Manager secret ARN under latchkey/',
      ),
  })
  .strict();

const rateLimit = z.int().min(1).max(1_000_000);

export const createKeyBody = z
  .object({
    name: z.string().trim().min(1, 'is required').max(128, 'must be at most 128 characters'),
    description: z.string().max(1024, 'must be at most 1024 characters').optional(),
    scopes: scopeList,
    environment: z.enum(ENVIRONMENTS).default('development'),
    expires_at: futureTimestamp.optional(),
    expires_in_days: z.int().min(1).max(3650).optional(),
    rate_limit: rateLimit.optional(),
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
    name: z.string().trim().min(1, 'must not be empty').max(128, 'must be at most 128 characters'),
    description: z.string().max(1024, 'must be at most 1024 characters').nullable(),
    scopes: scopeList,
    rate_limit: rateLimit.nullable(),
    ip_allowlist: ipAllowlist.nullable(),
    expires_at: futureTimestamp.nullable(),
    enabled: z.boolean(),
    metadata: metadata.nullable(),
    rotation: rotationPolicy.nullable(),
  })
  .partial()
  .strict()
  .refine((b) => Object.keys(b).length > 0, 'give at least one field to change');
export type UpdateKeyBody = z.infer<typeof updateKeyBody>;

export const rotateKeyBody = z
  .object({ grace_period_seconds: z.int().min(0).max(MAX_GRACE_SECONDS).default(0) })
  .strict()
  .optional()
  .transform((b) => b ?? { grace_period_seconds: 0 });

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
