/**
 * The deploy-wide policy rules and super admins (docs/tenancy.md), checked with the schema the
 * deploy configuration was validated with. The environment contract checks only their JSON shape
 * (`lib/function-environment.ts`), so that only the functions that read them (the management
 * functions) bundle this schema and zod, not the authorizer. A value the schema refuses fails the
 * request naming the variable, as a malformed setting does.
 */

import { SETTINGS } from '../../lib/function-environment';
import { policyRulesSchema, superAdminsSchema } from '../../lib/policy-schema';
import type { PolicyRule } from '../domain/policy';
import { setting } from './config';

const checked = new WeakMap<object, unknown>();

/** The setting's value as `schema` reads it (checked once per value). */
function checkedSetting<T>(
  key: 'policyRules' | 'superAdmins',
  schema: { safeParse(v: unknown): { success: boolean; data?: unknown } },
): T {
  const value = setting(key);
  if (checked.has(value)) return checked.get(value) as T;
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new Error(
      `Environment variable ${SETTINGS[key].name} is invalid: ${SETTINGS[key].parser.expected}`,
    );
  }
  checked.set(value, result.data);
  return result.data as T;
}

export const deployPolicyRules = (): readonly PolicyRule[] =>
  checkedSetting('policyRules', policyRulesSchema);

export const configuredSuperAdmins = (): readonly string[] =>
  checkedSetting('superAdmins', superAdminsSchema);
