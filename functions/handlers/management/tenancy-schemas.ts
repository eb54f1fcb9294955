/**
 * Request schemas of the tenancy routes (docs/tenancy.md): organizations, workspaces, policies,
 * admin bindings and root mode. Every refusal names the field.
 */
import { z } from 'zod';
import { policyRulesSchema, principalSchema } from '../../../lib/policy-schema';
import { ROLES } from '../../domain/access';
import { unsafeCharacter } from '../../domain/input';
import { DEFAULT_BUILT_INS } from '../../domain/policy';
import { MAX_ELEVATION_MINUTES } from '../../domain/tenancy';
import { displayName, pageQuery, tenantId } from './schemas';

const status = z.enum(['active', 'archived']);
const nonEmpty = (b: object) => Object.keys(b).length > 0;

export const orgParams = z.object({ org: tenantId });
export const workspaceParams = z.object({ org: tenantId, workspace: tenantId });

export const createOrganizationBody = z
  .object({ organization_id: tenantId, name: displayName('is required') })
  .strict();

export const updateOrganizationBody = z
  .object({ name: displayName('must not be empty'), status, api_keys_enabled: z.boolean() })
  .partial()
  .strict()
  .refine(nonEmpty, 'give at least one field to change');

export const createWorkspaceBody = z
  .object({ workspace_id: tenantId, name: displayName('is required') })
  .strict();

export const updateWorkspaceBody = z
  .object({ name: displayName('must not be empty'), status })
  .partial()
  .strict()
  .refine(nonEmpty, 'give at least one field to change');

/** The invariants are shown as rules but cannot be switched off. */
const locked = (why: string) =>
  z
    .object({ enabled: z.literal(true, { error: `is locked on: ${why}` }) })
    .passthrough()
    .optional();

export const policyBody = z
  .object({
    built_in: z
      .object({
        production_expiry: z
          .object({
            enabled: z.boolean(),
            max_days: z.int().min(1).max(3650).default(DEFAULT_BUILT_INS.production_expiry.max_days),
          })
          .strict()
          .default(DEFAULT_BUILT_INS.production_expiry),
        execute_requires_elevation: z
          .object({ enabled: z.boolean() })
          .strict()
          .default(DEFAULT_BUILT_INS.execute_requires_elevation),
        revoked_keys_final: locked('revocation is permanent'),
        rotation_history: locked('the audit trail is append-only'),
      })
      .strict()
      .default({
        production_expiry: DEFAULT_BUILT_INS.production_expiry,
        execute_requires_elevation: DEFAULT_BUILT_INS.execute_requires_elevation,
      }),
    rules: policyRulesSchema,
    version: z.int().min(0).optional(),
  })
  .strict()
  .superRefine((b, ctx) => {
    b.rules.forEach((r, i) => {
      const found = r.description === undefined ? undefined : unsafeCharacter(r.description, true);
      if (found)
        ctx.addIssue({
          code: 'custom',
          path: ['rules', i, 'description'],
          message: `must not contain ${found}`,
        });
    });
  });

export const bindingBody = z
  .object({
    principal: principalSchema,
    role: z.enum(ROLES),
    organization_id: tenantId.nullable().optional(),
    workspace_ids: z.array(tenantId).max(50).optional(),
    root_allowed: z.boolean().optional(),
  })
  .strict();

export const bindingQuery = pageQuery
  .extend({ organization_id: tenantId.optional(), principal: z.string().min(1).max(1024).optional() })
  .strict();

export const bindingParams = z.object({ binding: z.string().max(1400) });

export const rootModeBody = z
  .object({
    duration_minutes: z.int().min(1).max(MAX_ELEVATION_MINUTES).default(MAX_ELEVATION_MINUTES),
    reason: displayName('is required: say why root mode is needed'),
  })
  .strict();
