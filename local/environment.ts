/**
 * The handlers' environment on the local stack, built by the same builder as on AWS
 * (`lib/function-environment.ts`) from the same configuration (`readLocalConfig`: `cdk.json`).
 * Every declared function runs in this one process, so their variables are merged; they agree
 * because they come from the same sources.
 */
import { functionSettings, type LatchkeyConfig } from '../lib/config';
import { type FunctionDeclaration, functions, type TableId } from '../lib/declaration';
import { functionEnvironment } from '../lib/function-environment';
import { LOCAL_ACCOUNT_ID } from './credentials';

export interface LocalResources {
  readonly tables: Readonly<Record<TableId, string>>;
  readonly kmsKeyId: string;
  readonly eventBusName: string;
}

export interface LocalFunctionEnvironment {
  /** What each function would get on AWS. */
  readonly byFunction: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Their union: what the process gets. */
  readonly merged: Readonly<Record<string, string>>;
}

/** `accountId`: the account the functions believe they run in (the local stack's, unless a test says). */
export function localFunctionEnvironment(
  resources: LocalResources,
  config: LatchkeyConfig,
  accountId: string = LOCAL_ACCOUNT_ID,
): LocalFunctionEnvironment {
  // Locally nothing is cached between a change and the next request (as the authorizer's answers
  // are not): a registration's new route map applies at once (docs/local-stack.md).
  const sources = { ...resources, settings: { ...functionSettings(config, accountId), apiCacheSeconds: 0 } };
  const byFunction: Record<string, Record<string, string>> = {};
  for (const fn of Object.values(functions) as FunctionDeclaration[]) {
    byFunction[fn.name] = functionEnvironment(fn, sources);
  }
  return { byFunction, merged: Object.assign({}, ...Object.values(byFunction)) };
}
