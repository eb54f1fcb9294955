/**
 * The keys table (declared in `lib/declaration.ts`). Every write is conditional: creates never
 * overwrite, updates carry the version they read (optimistic locking), so concurrent changes
 * cannot silently lose each other; only a revoke, which must win, is conditional on state alone.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { type IndexDeclaration, tables } from '../../lib/declaration';
import type { KeyReach } from '../domain/access';
import type { ApiKeyItem } from '../domain/api-key';
import { ConflictError } from '../domain/errors';
import { dynamodb } from '../shared/clients';
import { tableName } from '../shared/config';
import { checkStartKey, type Page, queryPage } from './paging';

const KEYS = tables.keys;
/** The key item's own id attribute is the table's partition key. */
const ID = KEYS.partitionKey.name;
const { byWorkspace, byOrganization, byKind, byExpiryDay, byRotationDay } = KEYS.indexes;

export class KeyIdTakenError extends Error {}

/** Attributes a change may set or remove; identity, hashes of creation and kind are fixed. */
export type KeyChanges = Partial<Omit<ApiKeyItem, 'id' | 'kind' | 'version' | 'created_at' | 'created_sort'>>;

export async function putNewKey(item: ApiKeyItem): Promise<void> {
  try {
    await dynamodb.send(
      new PutCommand({
        TableName: tableName('keys'),
        Item: item,
        ConditionExpression: 'attribute_not_exists(#id)',
        ExpressionAttributeNames: { '#id': ID },
      }),
    );
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) throw new KeyIdTakenError(item.id);
    throw error;
  }
}

/** One strongly consistent GetItem: a revoke that returned is seen by the next read. */
export async function getKey(id: string): Promise<ApiKeyItem | undefined> {
  const out = await dynamodb.send(
    new GetCommand({ TableName: tableName('keys'), Key: { [ID]: id }, ConsistentRead: true }),
  );
  return out.Item as ApiKeyItem | undefined;
}

export interface UpdateOptions {
  /** Extra condition (on top of the version check), e.g. `#status <> :revoked`. */
  readonly condition?: {
    expression: string;
    names?: Record<string, string>;
    values?: Record<string, unknown>;
  };
}

/**
 * Applies `set` and `remove` if the item exists and still has `expectedVersion` (`'any'`: whatever
 * version it has, for changes that must win over concurrent ones, like a revoke); bumps the version.
 * A failed condition is a ConflictError (409): the caller re-reads and decides again.
 */
export async function updateKey(
  id: string,
  expectedVersion: number | 'any',
  set: KeyChanges,
  remove: readonly (keyof KeyChanges)[] = [],
  options: UpdateOptions = {},
): Promise<ApiKeyItem> {
  const names: Record<string, string> = { '#id': ID, '#version': 'version' };
  const values: Record<string, unknown> = { ':one': 1 };
  const sets: string[] = ['#version = #version + :one'];
  Object.entries(set).forEach(([attr, value], i) => {
    if (value === undefined) return;
    names[`#s${i}`] = attr;
    values[`:s${i}`] = value;
    sets.push(`#s${i} = :s${i}`);
  });
  const removes = remove
    .filter((attr) => !(attr in set))
    .map((attr, i) => {
      names[`#r${i}`] = String(attr);
      return `#r${i}`;
    });
  let condition = 'attribute_exists(#id)';
  if (expectedVersion !== 'any') {
    condition += ' AND #version = :expected';
    values[':expected'] = expectedVersion;
  }
  if (options.condition) {
    condition += ` AND (${options.condition.expression})`;
    Object.assign(names, options.condition.names);
    Object.assign(values, options.condition.values);
  }
  try {
    const out = await dynamodb.send(
      new UpdateCommand({
        TableName: tableName('keys'),
        Key: { [ID]: id },
        UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
        ConditionExpression: condition,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      }),
    );
    return out.Attributes as ApiKeyItem;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) {
      throw new ConflictError('The key was changed by another request; read it again and retry.');
    }
    throw error;
  }
}

export interface ListFilter {
  readonly status?: 'active' | 'disabled' | 'expired' | 'revoked';
  readonly environment?: string;
  readonly scope?: string;
  readonly organization_id?: string;
  readonly workspace_id?: string;
  /** Only keys the caller may see (docs/tenancy.md#reach); absent: every key. */
  readonly reach?: KeyReach;
}

export type ListPage = Page<ApiKeyItem>;

/** The one organization a reach spans, if it spans exactly one. */
function singleOrganization(reach: KeyReach | undefined): string | undefined {
  if (!reach || reach.all) return undefined;
  const orgs = new Set([...reach.organizations, ...reach.workspaces.map((w) => w.organization_id)]);
  return orgs.size === 1 ? [...orgs][0] : undefined;
}

/** Which index serves a list: the narrowest one the filter (or the caller's reach) names; never a Scan. */
function indexFor(filter: ListFilter): { index: IndexDeclaration; value: string } {
  if (filter.workspace_id) return { index: byWorkspace, value: filter.workspace_id };
  const org = filter.organization_id ?? singleOrganization(filter.reach);
  if (org) return { index: byOrganization, value: org };
  return { index: byKind, value: 'api_key' };
}

/**
 * `reach` as a filter expression on a query of `index` for `value`; undefined when the query reads
 * nothing outside the reach anyway. A key attribute of the index cannot appear in a filter, so
 * terms about it are decided here instead.
 */
function reachExpression(
  reach: KeyReach,
  index: IndexDeclaration,
  value: string,
  names: Record<string, string>,
  values: Record<string, unknown>,
): string | undefined {
  if (reach.all) return undefined;
  const byOrg = index.partitionKey.name === 'organization_id';
  const byWs = index.partitionKey.name === 'workspace_id';
  const name = (placeholder: string, attr: string) => {
    names[placeholder] = attr;
    return placeholder;
  };
  const value_ = (placeholder: string, v: string) => {
    values[placeholder] = v;
    return placeholder;
  };
  const parts: string[] = [];
  for (const [i, org] of reach.organizations.entries()) {
    if (byOrg) {
      if (org === value) return undefined; // the whole partition is in reach
      continue;
    }
    parts.push(`${name('#rorg', 'organization_id')} = ${value_(`:ro${i}`, org)}`);
  }
  for (const [i, w] of reach.workspaces.entries()) {
    if (byOrg && w.organization_id !== value) continue;
    if (byWs && !w.workspace_ids.includes(value)) continue;
    const terms = [`${name('#rkt', 'key_type')} = ${value_(':rkt', 'workspace')}`];
    if (!byOrg) terms.push(`${name('#rorg', 'organization_id')} = ${value_(`:rw${i}`, w.organization_id)}`);
    if (!byWs) {
      const ids = w.workspace_ids.map((id, j) => value_(`:rw${i}_${j}`, id));
      terms.push(`${name('#rws', 'workspace_id')} IN (${ids.join(', ')})`);
    }
    parts.push(`(${terms.join(' AND ')})`);
  }
  // Nothing in reach: a condition no key meets (every key has a prefix).
  if (parts.length === 0) return `attribute_not_exists(${name('#rnone', 'key_prefix')})`;
  // DynamoDB refuses redundant parentheses: wrap only a disjunction.
  return parts.length === 1 ? parts[0] : `(${parts.join(' OR ')})`;
}

/** What identifies an item of `index` (a page's `next_token`): the table key and the index key. */
function indexKeyAttributes(index: IndexDeclaration): string[] {
  return [KEYS.partitionKey.name, index.partitionKey.name, ...(index.sortKey ? [index.sortKey.name] : [])];
}

/** Newest first; filters that no index serves are FilterExpressions; pages fill up to `limit`. */
export async function listKeys(
  filter: ListFilter,
  limit: number,
  now: Date,
  startKey?: Record<string, unknown>,
): Promise<ListPage> {
  const { index, value } = indexFor(filter);
  const pk = index.partitionKey.name;
  const keyAttrs = indexKeyAttributes(index);
  const start = checkStartKey(startKey, { [pk]: value }, keyAttrs);
  const names: Record<string, string> = { '#pk': pk };
  const values: Record<string, unknown> = { ':pk': value };
  const filters: string[] = [];
  if (filter.organization_id && pk !== 'organization_id') {
    names['#org'] = 'organization_id';
    values[':org'] = filter.organization_id;
    filters.push('#org = :org');
  }
  const reach = filter.reach && reachExpression(filter.reach, index, value, names, values);
  if (reach) filters.push(reach);
  if (filter.environment) {
    names['#env'] = 'environment';
    values[':env'] = filter.environment;
    filters.push('#env = :env');
  }
  if (filter.scope) {
    names['#scopes'] = 'scopes';
    values[':scope'] = filter.scope;
    filters.push('contains(#scopes, :scope)');
  }
  if (filter.status) {
    names['#status'] = 'status';
    if (filter.status !== 'revoked') {
      names['#exp'] = 'expires_at';
      values[':now'] = now.toISOString();
    }
    if (filter.status === 'revoked') {
      values[':st'] = 'revoked';
      filters.push('#status = :st');
    } else if (filter.status === 'expired') {
      values[':st'] = 'revoked';
      filters.push('#status <> :st AND #exp <= :now');
    } else {
      values[':st'] = filter.status;
      filters.push('#status = :st AND (attribute_not_exists(#exp) OR #exp > :now)');
    }
  }
  return queryPage<ApiKeyItem>(
    {
      TableName: tableName('keys'),
      IndexName: index.name,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ...(filters.length ? { FilterExpression: filters.join(' AND ') } : {}),
    },
    keyAttrs,
    limit,
    start,
  );
}

async function queryIndex(input: Omit<QueryCommandInput, 'TableName'>): Promise<ApiKeyItem[]> {
  const items: ApiKeyItem[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const out = await dynamodb.send(
      new QueryCommand({
        ...input,
        TableName: tableName('keys'),
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      }),
    );
    items.push(...((out.Items ?? []) as ApiKeyItem[]));
    startKey = out.LastEvaluatedKey;
  } while (startKey);
  return items;
}

/** Keys whose expiry falls on `day` (`YYYY-MM-DD`), through the sparse expiry index. */
export function keysExpiringOn(day: string): Promise<ApiKeyItem[]> {
  return queryIndex({
    IndexName: byExpiryDay.name,
    KeyConditionExpression: '#d = :d',
    ExpressionAttributeNames: { '#d': byExpiryDay.partitionKey.name },
    ExpressionAttributeValues: { ':d': day },
  });
}

/** Keys whose rotation fell due on `day`, at or before `now`, through the sparse rotation index. */
export function keysDueForRotation(day: string, now: Date): Promise<ApiKeyItem[]> {
  return queryIndex({
    IndexName: byRotationDay.name,
    KeyConditionExpression: '#d = :d AND #at <= :now',
    ExpressionAttributeNames: { '#d': byRotationDay.partitionKey.name, '#at': byRotationDay.sortKey.name },
    ExpressionAttributeValues: { ':d': day, ':now': now.toISOString() },
  });
}
