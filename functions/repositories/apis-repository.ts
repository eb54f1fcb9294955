/**
 * The API registrations table (declared in `lib/declaration.ts`, docs/protecting-apis.md):
 *
 * - `API#<name>`: one registration, read by the authorizer with one GetItem;
 * - `MODULE#<module>`: which API owns a scope module, and the scopes it defines there, read once
 *   per module when a key is given scopes.
 *
 * A registration is only ever written together with its module claims and its audit entry, in one
 * transaction, conditional on the version read (or on not existing yet): concurrent writers
 * cannot lose each other's change, a module can never be claimed by two APIs, and the audit entry
 * exists exactly when the change committed. Nothing is ever deleted.
 */
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { tables } from '../../lib/declaration';
import type { ApiDefinition } from '../domain/api-registration';
import type { AuditEntry } from '../domain/audit';
import { ConflictError } from '../domain/errors';
import { dynamodb } from '../shared/clients';
import { tableName } from '../shared/config';
import { toItem } from './audit-repository';
import { checkStartKey, type Page, queryPage } from './paging';

const APIS = tables.apis;
const PK = APIS.partitionKey.name;
const { byKind } = APIS.indexes;
const KIND = 'api';

/** A stored registration. */
export interface ApiItem extends ApiDefinition {
  readonly pk: string;
  readonly kind: typeof KIND;
  readonly name: string;
  readonly created_at: string;
  readonly created_by: string;
  readonly updated_at: string;
  readonly updated_by: string;
  readonly version: number;
}

/** Who owns a scope module, and the scopes its API defines in it (none once the API dropped them). */
export interface ModuleItem {
  readonly pk: string;
  readonly module: string;
  readonly api: string;
  readonly scopes: readonly string[];
}

const apiKey = (name: string) => `API#${name}`;
const moduleKey = (module: string) => `MODULE#${module}`;

/** Another API already owns the module (409). */
export class ModuleTakenError extends ConflictError {
  override readonly code: string = 'module_taken';
}

/** One registration; strongly consistent, so a change that returned is what the next read sees. */
export async function getApiItem(name: string): Promise<ApiItem | undefined> {
  const out = await dynamodb.send(
    new GetCommand({ TableName: tableName('apis'), Key: { [PK]: apiKey(name) }, ConsistentRead: true }),
  );
  return out.Item as ApiItem | undefined;
}

export async function getModuleItem(module: string): Promise<ModuleItem | undefined> {
  const out = await dynamodb.send(
    new GetCommand({ TableName: tableName('apis'), Key: { [PK]: moduleKey(module) }, ConsistentRead: true }),
  );
  return out.Item as ModuleItem | undefined;
}

/** Registrations in name order, through `by_kind` (never a Scan). */
export function listApiItems(limit: number, startKey?: Record<string, unknown>): Promise<Page<ApiItem>> {
  const keyAttrs = [PK, byKind.partitionKey.name, byKind.sortKey.name];
  return queryPage<ApiItem>(
    {
      TableName: tableName('apis'),
      IndexName: byKind.name,
      KeyConditionExpression: '#kind = :kind',
      ExpressionAttributeNames: { '#kind': byKind.partitionKey.name },
      ExpressionAttributeValues: { ':kind': KIND },
    },
    keyAttrs,
    limit,
    checkStartKey(startKey, { [byKind.partitionKey.name]: KIND }, keyAttrs),
    true,
  );
}

export interface RegistrationWrite {
  readonly name: string;
  readonly definition: ApiDefinition;
  /** The version read, or undefined when registering a new API. */
  readonly expectedVersion: number | undefined;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly at: string;
  readonly by: string;
  /** Every module the API defined before or defines now, with the scopes it defines there now. */
  readonly modules: ReadonlyMap<string, readonly string[]>;
  readonly audit: AuditEntry;
}

/**
 * Writes the registration, its module claims and its audit entry in one transaction. Fails with a
 * ConflictError when the registration changed since it was read, a ModuleTakenError naming the
 * module when another API owns one of them.
 */
export async function writeRegistration(w: RegistrationWrite): Promise<ApiItem> {
  const item: ApiItem = {
    pk: apiKey(w.name),
    kind: KIND,
    name: w.name,
    ...w.definition,
    created_at: w.createdAt,
    created_by: w.createdBy,
    updated_at: w.at,
    updated_by: w.by,
    version: (w.expectedVersion ?? 0) + 1,
  };
  const modules = [...w.modules.entries()];
  try {
    await dynamodb.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: tableName('apis'),
              Item: item,
              ...(w.expectedVersion === undefined
                ? {
                    ConditionExpression: 'attribute_not_exists(#pk)',
                    ExpressionAttributeNames: { '#pk': PK },
                  }
                : {
                    ConditionExpression: '#version = :version',
                    ExpressionAttributeNames: { '#version': 'version' },
                    ExpressionAttributeValues: { ':version': w.expectedVersion },
                  }),
            },
          },
          ...modules.map(([module, scopes]) => ({
            Put: {
              TableName: tableName('apis'),
              Item: { pk: moduleKey(module), module, api: w.name, scopes: [...scopes] } satisfies ModuleItem,
              ConditionExpression: 'attribute_not_exists(#pk) OR #api = :api',
              ExpressionAttributeNames: { '#pk': PK, '#api': 'api' },
              ExpressionAttributeValues: { ':api': w.name },
            },
          })),
          {
            Put: {
              TableName: tableName('audit'),
              Item: toItem(w.audit),
              ConditionExpression: 'attribute_not_exists(#pk)',
              ExpressionAttributeNames: { '#pk': tables.audit.partitionKey.name },
            },
          },
        ],
      }),
    );
  } catch (error) {
    if (!(error instanceof TransactionCanceledException)) throw error;
    const reasons = error.CancellationReasons ?? [];
    const failed = (i: number) => reasons[i]?.Code === 'ConditionalCheckFailed';
    const taken = modules.find((_, i) => failed(i + 1));
    if (taken) {
      throw new ModuleTakenError(`Scope module ${JSON.stringify(taken[0])} belongs to another API.`, [
        { field: 'scopes', message: `module ${taken[0]} is defined by another API` },
      ]);
    }
    if (failed(0)) {
      throw new ConflictError(
        'The API registration was changed by another request; read it again and retry.',
      );
    }
    throw error;
  }
  return item;
}
