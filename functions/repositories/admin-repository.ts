/**
 * The admin table (declared in `lib/declaration.ts`): organizations, workspaces, organization
 * policies, principal bindings and root-mode elevations, one table (docs/tenancy.md#records).
 *
 * | record       | pk             | sk                                          |
 * | ------------ | -------------- | ------------------------------------------- |
 * | organization | `ORG`          | `<org>`                                     |
 * | workspace    | `ORG#<org>`    | `WS#<workspace>`                            |
 * | policy       | `ORG#<org>`    | `POLICY`                                    |
 * | binding      | `BINDING`      | `P#<principal>#O#<org or *>` (exact ARN) or `W#<pattern>#O#<org or *>` |
 * | elevation    | `ELEVATION`    | `<caller ARN>`                              |
 *
 * Reads on a request path are GetItem, or Query on one partition. Every change commits together
 * with its audit entry in one transaction, so no change goes unaudited and no entry describes a
 * change that did not happen; conditions make creates never overwrite and updates carry the
 * version they read.
 */
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { tables } from '../../lib/declaration';
import { type Binding, isPattern, principalCandidates } from '../domain/access';
import type { AuditEntry } from '../domain/audit';
import type {
  Elevation,
  Organization,
  OrganizationPolicy,
  StoredBinding,
  Workspace,
} from '../domain/tenancy';
import { dynamodb } from '../shared/clients';
import { tableName } from '../shared/config';
import { toItem as auditItem } from './audit-repository';
import { checkStartKey, type Page, queryPage } from './paging';

const ADMIN = tables.admin;
const PK = ADMIN.partitionKey.name;
const SK = ADMIN.sortKey.name;
const KEY_ATTRS = [PK, SK];

const ORGS = 'ORG';
const BINDINGS = 'BINDING';
const ELEVATIONS = 'ELEVATION';
const orgPartition = (org: string) => `ORG#${org}`;
const workspaceSort = (ws: string) => `WS#${ws}`;
const POLICY = 'POLICY';

export function bindingSortKey(principal: string, organizationId: string | null): string {
  return `${isPattern(principal) ? 'W' : 'P'}#${principal}#O#${organizationId ?? '*'}`;
}

/** A write lost its condition: the thing exists already, is gone, or changed since it was read. */
export class WriteConflict extends Error {
  constructor(readonly reason: 'exists' | 'missing' | 'changed') {
    super(reason);
  }
}

type Item = Record<string, unknown>;

function strip<T>(item: Item | undefined): T | undefined {
  if (!item) return undefined;
  const { [PK]: _pk, [SK]: _sk, ttl: _ttl, kind: _kind, ...rest } = item;
  return rest as T;
}

async function get<T>(pk: string, sk: string): Promise<T | undefined> {
  const out = await dynamodb.send(
    new GetCommand({ TableName: tableName('admin'), Key: { [PK]: pk, [SK]: sk }, ConsistentRead: true }),
  );
  return strip<T>(out.Item);
}

async function queryAll(pk: string, skPrefix: string): Promise<Item[]> {
  const items: Item[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const out = await dynamodb.send(
      new QueryCommand({
        TableName: tableName('admin'),
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
        ExpressionAttributeNames: { '#pk': PK, '#sk': SK },
        ExpressionAttributeValues: { ':pk': pk, ':prefix': skPrefix },
        ConsistentRead: true,
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      }),
    );
    items.push(...((out.Items ?? []) as Item[]));
    startKey = out.LastEvaluatedKey;
  } while (startKey);
  return items;
}

/**
 * One page of a partition, optionally of the sort keys starting with `skPrefix` and filtered by
 * `filter` (an expression over `names`/`values`, which must not use `#pk`, `#sk`, `:pk`, `:prefix`).
 */
interface PartitionFilter {
  readonly expression: string;
  readonly names: Record<string, string>;
  readonly values: Record<string, unknown>;
}

async function listPartition<T>(
  pk: string,
  limit: number,
  startKey: Item | undefined,
  options: { skPrefix?: string; filter?: PartitionFilter } = {},
): Promise<Page<T>> {
  const { skPrefix, filter } = options;
  const page = await queryPage<Item>(
    {
      TableName: tableName('admin'),
      KeyConditionExpression: skPrefix ? '#pk = :pk AND begins_with(#sk, :prefix)' : '#pk = :pk',
      ExpressionAttributeNames: { '#pk': PK, ...(skPrefix ? { '#sk': SK } : {}), ...filter?.names },
      ExpressionAttributeValues: {
        ':pk': pk,
        ...(skPrefix ? { ':prefix': skPrefix } : {}),
        ...filter?.values,
      },
      ...(filter ? { FilterExpression: filter.expression } : {}),
    },
    KEY_ATTRS,
    limit,
    checkStartKey(startKey, { [PK]: pk }, KEY_ATTRS),
  );
  return { items: page.items.map((i) => strip<T>(i) as T), lastKey: page.lastKey };
}

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** A new admin item: the transaction fails on it (`exists`) if an item with its key is there. */
const putNew = (item: Item): TransactItem => ({
  Put: {
    TableName: tableName('admin'),
    Item: item,
    ConditionExpression: 'attribute_not_exists(#pk)',
    ExpressionAttributeNames: { '#pk': PK },
  },
});

const auditPut = (entry: AuditEntry): TransactItem => ({
  Put: {
    TableName: tableName('audit'),
    Item: auditItem(entry),
    ConditionExpression: 'attribute_not_exists(#pk)',
    ExpressionAttributeNames: { '#pk': tables.audit.partitionKey.name },
  },
});

/**
 * Runs the items and the audit entries as one transaction. A failed condition on item `i` (the
 * audit puts never fail: their ids are new) becomes `WriteConflict(reasons[i])`.
 */
async function transact(
  items: readonly TransactItem[],
  reasons: readonly WriteConflict['reason'][],
  entries: readonly AuditEntry[],
): Promise<void> {
  try {
    await dynamodb.send(new TransactWriteCommand({ TransactItems: [...items, ...entries.map(auditPut)] }));
  } catch (error) {
    if (error instanceof TransactionCanceledException) {
      const failed = (error.CancellationReasons ?? []).findIndex((r) => r.Code === 'ConditionalCheckFailed');
      if (failed >= 0 && failed < items.length) throw new WriteConflict(reasons[failed] ?? 'changed');
    }
    throw error;
  }
}

/** `SET a = :a, ...` with `version = version + 1`, conditional on the version read. */
function versionedUpdate(key: Item, expectedVersion: number, set: Item): NonNullable<TransactItem['Update']> {
  const names: Record<string, string> = { '#version': 'version', '#pk': PK };
  const values: Record<string, unknown> = { ':one': 1, ':expected': expectedVersion };
  const sets = ['#version = #version + :one'];
  Object.entries(set).forEach(([attr, value], i) => {
    names[`#a${i}`] = attr;
    values[`:a${i}`] = value;
    sets.push(`#a${i} = :a${i}`);
  });
  return {
    TableName: tableName('admin'),
    Key: key,
    UpdateExpression: `SET ${sets.join(', ')}`,
    ConditionExpression: 'attribute_exists(#pk) AND #version = :expected',
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}

// ---- Organizations and workspaces ----------------------------------------------------------------

export const getOrganization = (id: string) => get<Organization>(ORGS, id);

export const listOrganizations = (limit: number, startKey?: Item): Promise<Page<Organization>> =>
  listPartition<Organization>(ORGS, limit, startKey);

/** The organization and its `default` workspace, created together (nothing when it exists). */
export async function createOrganization(
  org: Organization,
  workspace: Workspace,
  entries: readonly AuditEntry[],
): Promise<void> {
  await transact(
    [
      putNew({ [PK]: ORGS, [SK]: org.organization_id, kind: 'organization', ...org }),
      putNew({
        [PK]: orgPartition(workspace.organization_id),
        [SK]: workspaceSort(workspace.workspace_id),
        kind: 'workspace',
        ...workspace,
      }),
    ],
    ['exists', 'exists'],
    entries,
  );
}

export async function updateOrganization(
  id: string,
  expectedVersion: number,
  set: Partial<Organization>,
  entries: readonly AuditEntry[],
): Promise<void> {
  await transact(
    [{ Update: versionedUpdate({ [PK]: ORGS, [SK]: id }, expectedVersion, set) }],
    ['changed'],
    entries,
  );
}

export const getWorkspace = (org: string, ws: string) => get<Workspace>(orgPartition(org), workspaceSort(ws));

export function listWorkspaces(
  org: string,
  limit: number,
  startKey?: Item,
  only?: readonly string[],
): Promise<Page<Workspace>> {
  let filter: PartitionFilter | undefined;
  if (only) {
    const values: Record<string, unknown> = {};
    const ids = only.map((w, i) => {
      values[`:w${i}`] = w;
      return `:w${i}`;
    });
    filter = {
      // An empty list matches nothing (DynamoDB has no empty IN).
      expression: ids.length
        ? `#ws IN (${ids.join(', ')})`
        : 'attribute_not_exists(#ws) AND attribute_exists(#ws)',
      names: { '#ws': 'workspace_id' },
      values,
    };
  }
  return listPartition<Workspace>(orgPartition(org), limit, startKey, {
    skPrefix: 'WS#',
    ...(filter ? { filter } : {}),
  });
}

/** A new workspace, only while its organization exists and is active. */
export async function createWorkspace(workspace: Workspace, entries: readonly AuditEntry[]): Promise<void> {
  await transact(
    [
      {
        ConditionCheck: {
          TableName: tableName('admin'),
          Key: { [PK]: ORGS, [SK]: workspace.organization_id },
          ConditionExpression: 'attribute_exists(#pk) AND #status = :active',
          ExpressionAttributeNames: { '#pk': PK, '#status': 'status' },
          ExpressionAttributeValues: { ':active': 'active' },
        },
      },
      putNew({
        [PK]: orgPartition(workspace.organization_id),
        [SK]: workspaceSort(workspace.workspace_id),
        kind: 'workspace',
        ...workspace,
      }),
    ],
    ['missing', 'exists'],
    entries,
  );
}

export async function updateWorkspace(
  org: string,
  ws: string,
  expectedVersion: number,
  set: Partial<Workspace>,
  entries: readonly AuditEntry[],
): Promise<void> {
  await transact(
    [{ Update: versionedUpdate({ [PK]: orgPartition(org), [SK]: workspaceSort(ws) }, expectedVersion, set) }],
    ['changed'],
    entries,
  );
}

// ---- Organization policies ----------------------------------------------------------------------

export const getPolicy = (org: string) =>
  get<Omit<OrganizationPolicy, 'organization_id'>>(orgPartition(org), POLICY);

/** Replaces the policy if it still has `expectedVersion` (0: none written yet). */
export async function putPolicy(policy: OrganizationPolicy, entries: readonly AuditEntry[]): Promise<void> {
  const expected = policy.version - 1;
  await transact(
    [
      {
        Put: {
          TableName: tableName('admin'),
          Item: { [PK]: orgPartition(policy.organization_id), [SK]: POLICY, kind: 'policy', ...policy },
          ConditionExpression:
            expected === 0 ? 'attribute_not_exists(#pk)' : 'attribute_exists(#pk) AND #version = :expected',
          ExpressionAttributeNames: { '#pk': PK, ...(expected === 0 ? {} : { '#version': 'version' }) },
          ...(expected === 0 ? {} : { ExpressionAttributeValues: { ':expected': expected } }),
        },
      },
    ],
    ['changed'],
    entries,
  );
}

// ---- Bindings --------------------------------------------------------------------------------------

/**
 * Every binding naming `callerArn`: exact ones under the caller's own ARN and (for an assumed-role
 * session) its role's, and every pattern binding that matches, filtered here. Three Queries, each on
 * the one `BINDING` partition; never a Scan.
 */
export async function bindingsMatching(
  callerArn: string,
  matches: (b: StoredBinding) => boolean,
): Promise<StoredBinding[]> {
  const exact = principalCandidates(callerArn).map((arn) => queryAll(BINDINGS, `P#${arn}#O#`));
  const patterns = queryAll(BINDINGS, 'W#');
  const found = (await Promise.all([...exact, patterns])).flat();
  return found.map((i) => strip<StoredBinding>(i) as StoredBinding).filter(matches);
}

export const getBinding = (principal: string, org: string | null) =>
  get<StoredBinding>(BINDINGS, bindingSortKey(principal, org));

export function listBindings(
  filter: { organization_id?: string; principal?: string },
  limit: number,
  startKey?: Item,
): Promise<Page<StoredBinding>> {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const filters: string[] = [];
  if (filter.organization_id !== undefined) {
    names['#org'] = 'organization_id';
    values[':org'] = filter.organization_id;
    filters.push('#org = :org');
  }
  if (filter.principal !== undefined) {
    names['#p'] = 'principal';
    values[':p'] = filter.principal;
    filters.push('#p = :p');
  }
  return listPartition<StoredBinding>(
    BINDINGS,
    limit,
    startKey,
    filters.length ? { filter: { expression: filters.join(' AND '), names, values } } : {},
  );
}

/**
 * Creates or replaces a binding. `previous` is what the caller read: the write is conditional on it
 * (absent, or unchanged since), so two concurrent puts cannot both claim to have replaced it.
 */
export async function putBinding(
  binding: StoredBinding,
  previous: StoredBinding | undefined,
  entries: readonly AuditEntry[],
): Promise<void> {
  await transact(
    [
      {
        Put: {
          TableName: tableName('admin'),
          Item: {
            [PK]: BINDINGS,
            [SK]: bindingSortKey(binding.principal, binding.organization_id),
            kind: 'binding',
            ...binding,
          },
          ConditionExpression: previous
            ? 'attribute_exists(#pk) AND #updated = :updated'
            : 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': PK, ...(previous ? { '#updated': 'updated_at' } : {}) },
          ...(previous ? { ExpressionAttributeValues: { ':updated': previous.updated_at } } : {}),
        },
      },
    ],
    [previous ? 'changed' : 'exists'],
    entries,
  );
}

export async function deleteBinding(binding: Binding, entries: readonly AuditEntry[]): Promise<void> {
  await transact(
    [
      {
        Delete: {
          TableName: tableName('admin'),
          Key: { [PK]: BINDINGS, [SK]: bindingSortKey(binding.principal, binding.organization_id) },
          ConditionExpression: 'attribute_exists(#pk)',
          ExpressionAttributeNames: { '#pk': PK },
        },
      },
    ],
    ['missing'],
    entries,
  );
}

/** Creates a binding unless one exists for the same principal and organization; whether it did. */
export async function putBindingIfAbsent(
  binding: StoredBinding,
  entries: readonly AuditEntry[],
): Promise<boolean> {
  try {
    await putBinding(binding, undefined, entries);
    return true;
  } catch (error) {
    if (error instanceof WriteConflict) return false;
    throw error;
  }
}

// ---- Root-mode elevations ----------------------------------------------------------------------

const ELEVATION_TTL_SECONDS = 7 * 86_400;

export const getElevation = (principal: string) => get<Elevation>(ELEVATIONS, principal);

/** Opens an elevation unless one is open at `now` (then `WriteConflict('exists')`). */
export async function openElevation(
  elevation: Elevation,
  now: Date,
  entries: readonly AuditEntry[],
): Promise<void> {
  await transact(
    [
      {
        Put: {
          TableName: tableName('admin'),
          Item: {
            [PK]: ELEVATIONS,
            [SK]: elevation.principal,
            kind: 'elevation',
            ...elevation,
            // The record outlives its elevation for a while, so GET /v1/root-mode can say how it ended.
            ttl: Math.floor(Date.parse(elevation.expires_at) / 1000) + ELEVATION_TTL_SECONDS,
          },
          ConditionExpression: 'attribute_not_exists(#pk) OR attribute_exists(#closed) OR #exp <= :now',
          ExpressionAttributeNames: { '#pk': PK, '#closed': 'closed_at', '#exp': 'expires_at' },
          ExpressionAttributeValues: { ':now': now.toISOString() },
        },
      },
    ],
    ['exists'],
    entries,
  );
}

/** Marks the elevation closed (early, or recording that its time box ended); once only. */
export async function closeElevation(
  principal: string,
  openedAt: string,
  closedAt: string,
  reason: 'closed' | 'expired',
  entries: readonly AuditEntry[],
): Promise<void> {
  await transact(
    [
      {
        Update: {
          TableName: tableName('admin'),
          Key: { [PK]: ELEVATIONS, [SK]: principal },
          UpdateExpression: 'SET #closed = :closed, #reason = :reason',
          ConditionExpression:
            'attribute_exists(#pk) AND attribute_not_exists(#closed) AND #opened = :opened',
          ExpressionAttributeNames: {
            '#pk': PK,
            '#closed': 'closed_at',
            '#reason': 'closed_reason',
            '#opened': 'opened_at',
          },
          ExpressionAttributeValues: { ':closed': closedAt, ':reason': reason, ':opened': openedAt },
        },
      },
    ],
    ['changed'],
    entries,
  );
}
