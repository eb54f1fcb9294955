/**
 * The functions' configuration, read from the environment through the one contract in
 * `lib/function-environment.ts`: each variable is parsed on first use (and again only if it
 * changes), with no default here. A missing or malformed variable throws an error naming it, so a
 * function deployed without what it needs fails loudly instead of guessing (docs/configuration.md).
 */
import type { Setting, TableId } from '../../lib/declaration';
import { RESOURCES, SETTINGS, type SettingValues } from '../../lib/function-environment';

const parsed = new Map<string, { readonly raw: string; readonly value: unknown }>();

interface Readable<T> {
  readonly name: string;
  readonly parser: { readonly parse: (raw: string) => T | undefined; readonly expected: string };
}

function read<T>(variable: Readable<T>): T {
  const raw = process.env[variable.name];
  if (raw === undefined || raw === '') {
    throw new Error(`Missing environment variable ${variable.name} (see docs/configuration.md)`);
  }
  const hit = parsed.get(variable.name);
  if (hit?.raw === raw) return hit.value as T;
  const value = variable.parser.parse(raw);
  if (value === undefined) {
    throw new Error(`Environment variable ${variable.name} is invalid: ${variable.parser.expected}`);
  }
  parsed.set(variable.name, { raw, value });
  return value;
}

export function setting<K extends Setting>(key: K): SettingValues[K] {
  return read(SETTINGS[key] as Readable<SettingValues[K]>);
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
