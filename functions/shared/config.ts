/**
 * Configuration from the environment, read when asked (cheap) so tests and the local stack can
 * point the same code at other tables. Names come from the one declaration in `lib/declaration.ts`.
 */
import { env, type TableId, tables } from '../../lib/declaration';
import { ENVIRONMENTS, type Environment } from '../domain/token';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`Missing environment variable ${name}`);
  return value;
}

export function tableName(id: TableId): string {
  return required(tables[id].envVar);
}

export function kmsKeyId(): string {
  return required(env.kmsKeyId);
}

export function eventBusName(): string {
  return required(env.eventBusName);
}

/** The environment of the protected API, when the stage has one (docs/authorizer.md). */
export function apiEnvironment(): Environment | undefined {
  const value = process.env[env.apiEnvironment];
  return ENVIRONMENTS.find((e) => e === value);
}

/** Feature flag `apiKeys.enabled` (docs/management-api.md): only an explicit "false" turns management off. */
export function apiKeysEnabled(): boolean {
  return process.env[env.featureApiKeysEnabled] !== 'false';
}
