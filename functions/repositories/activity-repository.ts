/**
 * What the authorizer counts for the overview (docs/analytics.md), in the counters table. Written
 * once per minute per authorizer instance from in-memory counts (`services/activity.ts`), never per
 * request; read with bounded Queries.
 *
 * - `USAGE#<key id>` / `DAY#<partition>#<day>`: allowed requests of the key that day
 *   (`day_allowed`), indexed by `top_keys` (`top_part` = `<partition>#<day>`), 35 days;
 * - `STATS#<partition>` / `LASTUSE#<module>`: when a route needing one of the module's scopes was last
 *   allowed, to the minute;
 * - `STATS#<partition>` / `REFUSED#<hour>`: refusals in that hour, one counter per status and reason
 *   (`c:<status>:<reason>`), 3 days.
 *
 * `partition` is `all` or `org#<organization>` (refusals of tokens naming no key count in `all` only).
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { tables } from '../../lib/declaration';
import { dynamodb } from '../shared/clients';
import { tableName } from '../shared/config';

const COUNTERS = tables.counters;
const PK = COUNTERS.partitionKey.name;
const SK = COUNTERS.sortKey.name;
const TTL = COUNTERS.ttlAttribute;
const { topKeys } = COUNTERS.indexes;
const DAY_SECONDS = 86_400;
const DAILY_USE_KEEP_DAYS = 35;
const REFUSALS_KEEP_DAYS = 3;
const COUNTER_PREFIX = 'c:';

const key = (pk: string, sk: string) => ({ [PK]: pk, [SK]: sk });
const statsPk = (partition: string) => `STATS#${partition}`;
const epochSeconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);

/** Adds `count` allowed requests to the key's day in `partition` (the day's ranking follows it). */
export async function addDailyUse(
  keyId: string,
  keyPrefix: string,
  partition: string,
  day: string,
  count: number,
): Promise<void> {
  await dynamodb.send(
    new UpdateCommand({
      TableName: tableName('counters'),
      Key: key(`USAGE#${keyId}`, `DAY#${partition}#${day}`),
      UpdateExpression:
        'ADD #n :n SET #part = :part, #id = :id, #prefix = :prefix, #ttl = if_not_exists(#ttl, :ttl)',
      ExpressionAttributeNames: {
        '#n': topKeys.sortKey.name,
        '#part': topKeys.partitionKey.name,
        '#id': 'key_id',
        '#prefix': 'key_prefix',
        '#ttl': TTL,
      },
      ExpressionAttributeValues: {
        ':n': count,
        ':part': `${partition}#${day}`,
        ':id': keyId,
        ':prefix': keyPrefix,
        ':ttl': epochSeconds(day) + (1 + DAILY_USE_KEEP_DAYS) * DAY_SECONDS,
      },
    }),
  );
}

/** Moves the module's last use forward to `at` (an earlier or equal time changes nothing). */
export async function markModuleUse(partition: string, module: string, at: string): Promise<void> {
  try {
    await dynamodb.send(
      new UpdateCommand({
        TableName: tableName('counters'),
        Key: key(statsPk(partition), `LASTUSE#${module}`),
        UpdateExpression: 'SET #at = :at, #module = :module',
        ConditionExpression: 'attribute_not_exists(#at) OR #at < :at',
        ExpressionAttributeNames: { '#at': 'last_used_at', '#module': 'module' },
        ExpressionAttributeValues: { ':at': at, ':module': module },
      }),
    );
  } catch (error) {
    // Another instance already recorded a later use.
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}

/** Adds refusal counts (`"<status>:<reason>"` → n) to the hour (`YYYY-MM-DDTHH`) of `partition`. */
export async function addRefusals(
  partition: string,
  hour: string,
  counts: Readonly<Record<string, number>>,
): Promise<void> {
  const names: Record<string, string> = { '#ttl': TTL };
  const values: Record<string, number> = {
    ':ttl': epochSeconds(`${hour}:00:00Z`) + REFUSALS_KEEP_DAYS * DAY_SECONDS,
  };
  const adds = Object.entries(counts).map(([what, n], i) => {
    names[`#c${i}`] = `${COUNTER_PREFIX}${what}`;
    values[`:c${i}`] = n;
    return `#c${i} :c${i}`;
  });
  await dynamodb.send(
    new UpdateCommand({
      TableName: tableName('counters'),
      Key: key(statsPk(partition), `REFUSED#${hour}`),
      UpdateExpression: `ADD ${adds.join(', ')} SET #ttl = if_not_exists(#ttl, :ttl)`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    }),
  );
}

// ---- Reads (the overview) -------------------------------------------------------------------------

export interface DailyUse {
  readonly key_id: string;
  readonly key_prefix: string;
  readonly allowed: number;
}

/** The `limit` most used keys of `partition` on `day`, most used first: one Query on `top_keys`. */
export async function mostUsedKeys(partition: string, day: string, limit: number): Promise<DailyUse[]> {
  const out = await dynamodb.send(
    new QueryCommand({
      TableName: tableName('counters'),
      IndexName: topKeys.name,
      KeyConditionExpression: '#part = :part',
      ExpressionAttributeNames: { '#part': topKeys.partitionKey.name },
      ExpressionAttributeValues: { ':part': `${partition}#${day}` },
      ScanIndexForward: false,
      Limit: limit,
    }),
  );
  return (out.Items ?? []).map((i) => ({
    key_id: String(i.key_id),
    key_prefix: String(i.key_prefix),
    allowed: Number(i[topKeys.sortKey.name] ?? 0),
  }));
}

/** Module → last use, for every module of `partition` used within the counters' lifetime. */
export async function moduleLastUses(partition: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  let start: Record<string, unknown> | undefined;
  do {
    const page = await dynamodb.send(
      new QueryCommand({
        TableName: tableName('counters'),
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
        ExpressionAttributeNames: { '#pk': PK, '#sk': SK },
        ExpressionAttributeValues: { ':pk': statsPk(partition), ':prefix': 'LASTUSE#' },
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    for (const i of page.Items ?? []) out[String(i.module)] = String(i.last_used_at);
    start = page.LastEvaluatedKey;
  } while (start);
  return out;
}

/** Refusal counts (`"<status>:<reason>"` → n) summed over the hours `from`..`to` (inclusive). */
export async function refusalsBetween(
  partition: string,
  from: string,
  to: string,
): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  let start: Record<string, unknown> | undefined;
  do {
    const page = await dynamodb.send(
      new QueryCommand({
        TableName: tableName('counters'),
        KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :to',
        ExpressionAttributeNames: { '#pk': PK, '#sk': SK },
        ExpressionAttributeValues: {
          ':pk': statsPk(partition),
          ':from': `REFUSED#${from}`,
          ':to': `REFUSED#${to}`,
        },
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    for (const item of page.Items ?? []) {
      for (const [attr, value] of Object.entries(item)) {
        if (!attr.startsWith(COUNTER_PREFIX)) continue;
        const what = attr.slice(COUNTER_PREFIX.length);
        out[what] = (out[what] ?? 0) + Number(value);
      }
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return out;
}
