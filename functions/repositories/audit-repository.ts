/**
 * The audit table (declared in `lib/declaration.ts`): append-only, so this module only puts new
 * items (conditionally) and queries; no function holds UpdateItem or DeleteItem on it.
 *
 * Layout: `pk` = `KEY#<key id>` (or `IP#<source ip>` for a refusal that named no key), `sk` =
 * `<timestamp>#<event id>`, `ttl` = timestamp + the `auditRetentionDays` setting. The `by_organization` index
 * (`organization_id`, `sk`) serves the organization feed; entries without an organization (a
 * token for no known key) are simply not in it.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { tables } from '../../lib/declaration';
import { type AuditEntry, auditPartition, auditSortKey } from '../domain/audit';
import { dynamodb } from '../shared/clients';
import { setting, tableName } from '../shared/config';
import { checkStartKey, type Page, queryPage } from './paging';

const DAY_SECONDS = 86_400;
const AUDIT = tables.audit;
const PK = AUDIT.partitionKey.name;
const SK = AUDIT.sortKey.name;
const { byOrganization } = AUDIT.indexes;

export interface AuditItem extends AuditEntry {
  readonly pk: string;
  readonly sk: string;
  readonly ttl: number;
}

/** The item an entry is stored as (for writes that put it inside a transaction, `admin-repository.ts`). */
export function toItem(entry: AuditEntry, days = setting('auditRetentionDays')): AuditItem {
  return {
    ...entry,
    pk: auditPartition(entry),
    sk: auditSortKey(entry),
    ttl: Math.floor(Date.parse(entry.timestamp) / 1000) + days * DAY_SECONDS,
  };
}

/**
 * Puts the entry unless an item with its key exists. The key is derived from the entry (stream
 * event id, change time), so a retried stream record finds its own earlier write: `duplicate`.
 */
export async function putAuditEntry(entry: AuditEntry): Promise<'written' | 'duplicate'> {
  try {
    await dynamodb.send(
      new PutCommand({
        TableName: tableName('audit'),
        Item: toItem(entry),
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': PK },
      }),
    );
    return 'written';
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return 'duplicate';
    throw error;
  }
}

export type AuditPage = Page<AuditItem>;

export interface AuditFilter {
  readonly organization_id: string;
  readonly event_name?: string;
  readonly key_id?: string;
  readonly actor?: string;
  /** ISO-8601, inclusive. */
  readonly from?: string;
  readonly to?: string;
  /** Only entries of these workspaces (a workspace admin's reach, docs/tenancy.md). */
  readonly workspace_ids?: readonly string[];
}

/** One key's history, newest first. */
export function queryKeyAudit(
  keyId: string,
  limit: number,
  startKey?: Record<string, string>,
): Promise<AuditPage> {
  return queryPage(
    {
      TableName: tableName('audit'),
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': PK },
      ExpressionAttributeValues: { ':pk': `KEY#${keyId}` },
    },
    [PK, SK],
    limit,
    checkStartKey(startKey, { [PK]: `KEY#${keyId}` }, [PK, SK]),
  );
}

/**
 * The organization feed, newest first: through `by_organization`, or the key's own partition when
 * `key_id` is given (still limited to the organization). The time range is a sort-key condition;
 * event name and actor are filters, and pages fill up to `limit`.
 */
export function queryAudit(
  filter: AuditFilter,
  limit: number,
  startKey?: Record<string, string>,
): Promise<AuditPage> {
  const names: Record<string, string> = { '#org': byOrganization.partitionKey.name };
  const values: Record<string, unknown> = { ':org': filter.organization_id };
  const filters: string[] = [];
  let keyCondition: string;
  let keyAttrs: string[];
  let partition: Record<string, string>;
  let index: string | undefined;
  if (filter.key_id) {
    names['#pk'] = PK;
    values[':pk'] = `KEY#${filter.key_id}`;
    keyCondition = '#pk = :pk';
    filters.push('#org = :org');
    keyAttrs = [PK, SK];
    partition = { [PK]: `KEY#${filter.key_id}` };
  } else {
    index = byOrganization.name;
    keyCondition = '#org = :org';
    keyAttrs = [PK, SK, byOrganization.partitionKey.name];
    partition = { [byOrganization.partitionKey.name]: filter.organization_id };
  }
  // `sk` starts with an ISO timestamp; `~` sorts after `#`, so `to` includes entries at exactly `to`.
  const range = { from: filter.from, to: filter.to && `${filter.to}~` };
  if (range.from || range.to) names['#sk'] = SK;
  if (range.from && range.to) {
    keyCondition += ' AND #sk BETWEEN :from AND :to';
    Object.assign(values, { ':from': range.from, ':to': range.to });
  } else if (range.from) {
    keyCondition += ' AND #sk >= :from';
    values[':from'] = range.from;
  } else if (range.to) {
    keyCondition += ' AND #sk <= :to';
    values[':to'] = range.to;
  }
  if (filter.event_name) {
    names['#name'] = 'event_name';
    values[':name'] = filter.event_name;
    filters.push('#name = :name');
  }
  if (filter.actor) {
    names['#actor'] = 'actor';
    values[':actor'] = filter.actor;
    filters.push('#actor = :actor');
  }
  if (filter.workspace_ids) {
    names['#ws'] = 'workspace_id';
    const ws = filter.workspace_ids.map((w, i) => {
      values[`:ws${i}`] = w;
      return `:ws${i}`;
    });
    // No workspace at all matches nothing: an empty reach must not read as "no filter".
    filters.push(
      ws.length ? `#ws IN (${ws.join(', ')})` : 'attribute_not_exists(#ws) AND attribute_exists(#ws)',
    );
  }
  return queryPage(
    {
      TableName: tableName('audit'),
      ...(index ? { IndexName: index } : {}),
      KeyConditionExpression: keyCondition,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ...(filters.length ? { FilterExpression: filters.join(' AND ') } : {}),
    },
    keyAttrs,
    limit,
    checkStartKey(startKey, partition, keyAttrs, range),
  );
}
