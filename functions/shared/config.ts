/**
 * The functions' configuration, read from the environment through the one contract in
 * `lib/function-environment.ts`: each variable is parsed on first use (and again only if it
 * changes), with no default here. A missing or malformed variable throws an error naming it, so a
 * function deployed without what it needs fails loudly instead of guessing (docs/configuration.md).
 */
import type * as z from 'zod/mini';
import type { Setting, TableId } from '../../lib/declaration';
import { RESOURCES, SETTINGS, type SettingValues } from '../../lib/function-environment';

const parsed = new Map<string, { readonly raw: string; readonly value: unknown }>();

function read<T>(variable: { readonly name: string; readonly schema: z.ZodMiniType<T, string> }): T {
  const raw = process.env[variable.name];
  if (raw === undefined || raw === '') {
    throw new Error(`Missing environment variable ${variable.name} (see docs/configuration.md)`);
  }
  const hit = parsed.get(variable.name);
  if (hit?.raw === raw) return hit.value as T;
  const result = variable.schema.safeParse(raw);
  if (!result.success) {
    const why = result.error.issues.map((i) => i.message).join('; ');
    throw new Error(`Environment variable ${variable.name} is invalid: ${why}`);
  }
  parsed.set(variable.name, { raw, value: result.data });
  return result.data;
}

export function setting<K extends Setting>(key: K): SettingValues[K] {
  return read(SETTINGS[key] as { name: string; schema: z.ZodMiniType<SettingValues[K], string> });
}

export function tableName(id: TableId): string {
  return read(RESOURCES.table(id));
}

export function kmsKeyId(): string {
  return read(RESOURCES.kmsKeyId);
}

export function eventBusName(): string {
  return read(RESOURCES.eventBusName);
}
