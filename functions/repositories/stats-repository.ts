/**
 * The registry's aggregates in the counters table (docs/analytics.md), kept by the stream consumer
 * and read by the overview. Every read is a GetItem or a bounded Query, never a Scan.
 *
 * - `KEYSTATS#<key id>` / `C`: what the key counts towards now (`KeyContribution`) and the key
 *   version that was counted; the condition on it makes applying a stream record idempotent;
 * - `STATS#<partition>` / `TOTALS`: one counter per dim (`c:<dim>`), `partition` = `all` or `org#<org>`;
 * - `STATS#<partition>` / `EXPDAY#<day>`: the dims of that day's expiring keys (subtracted once the
 *   day is over);
 * - `EXPIRING#<day>` / `<expires_at>#<key id>`: one row per key expiring that day (today's expiries
 *   are counted to the millisecond from these), TTL two days after the day.
 */
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  GetCommand,
  QueryCommand,
  type QueryCommandInput,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { tables } from '../../lib/declaration';
import type { Counts, ExpiryRow, KeyContribution, StatsChange, StatsTarget } from '../domain/key-stats';
import { dynamodb } from '../shared/clients';
import { tableName } from '../shared/config';

const COUNTERS = tables.counters;
const PK = COUNTERS.partitionKey.name;
const SK = COUNTERS.sortKey.name;
const TTL = COUNTERS.ttlAttribute;
const DAY_MS = 86_400_000;
/** Counter attributes carry this prefix, so an item's key and TTL are never read as counts. */
const COUNTER_PREFIX = 'c:';
const ROW_KEEP_DAYS = 2;

const key = (pk: string, sk: string) => ({ [PK]: pk, [SK]: sk });
const contributionKey = (keyId: string) => key(`KEYSTATS#${keyId}`, 'C');
const statsPk = (partition: string) => `STATS#${partition}`;
const TOTALS_SK = 'TOTALS';
const expiryDaySk = (day: string) => `EXPDAY#${day}`;
const rowsPk = (day: string) => `EXPIRING#${day}`;

function targetKey(t: StatsTarget) {
  return key(statsPk(t.partition), t.kind === 'totals' ? TOTALS_SK : expiryDaySk(t.day));
}

/** The change lost a race with another write of the same key's aggregates: read again and recompute. */
export class StatsRaceError extends Error {
  override readonly name = 'StatsRaceError';
}

export interface StoredContribution {
  readonly contribution: KeyContribution | undefined;
  /** The key version last counted; 0 when never. */
  readonly version: number;
}

export async function getContribution(keyId: string): Promise<StoredContribution> {
  const out = await dynamodb.send(
    new GetCommand({ TableName: tableName('counters'), Key: contributionKey(keyId), ConsistentRead: true }),
  );
  const item = out.Item;
  if (!item) return { contribution: undefined, version: 0 };
  return {
    contribution: item.counted ? (item.contribution as KeyContribution) : undefined,
    version: Number(item.version ?? 0),
  };
}

/**
 * Writes `change` and the key's new contribution in one transaction, conditional on the stored
 * contribution still being at `expectedVersion` (0: none stored). A lost race (another writer moved
 * it) or a transaction conflict is a `StatsRaceError`: nothing was written.
 */
export async function applyStatsChange(
  keyId: string,
  expectedVersion: number,
  next: { readonly version: number; readonly contribution: KeyContribution | undefined },
  change: StatsChange,
): Promise<void> {
  const table = tableName('counters');
  const put = {
    Put: {
      TableName: table,
      Item: {
        ...contributionKey(keyId),
        version: next.version,
        counted: next.contribution !== undefined,
        ...(next.contribution ? { contribution: next.contribution } : {}),
      },
      ConditionExpression:
        expectedVersion === 0 ? 'attribute_not_exists(#pk)' : 'attribute_exists(#pk) AND #v = :expected',
      ExpressionAttributeNames: { '#pk': PK, ...(expectedVersion === 0 ? {} : { '#v': 'version' }) },
      ...(expectedVersion === 0 ? {} : { ExpressionAttributeValues: { ':expected': expectedVersion } }),
    },
  };
  const counters = change.counters.map(({ target, add }) => {
    const names: Record<string, string> = {};
    const values: Record<string, number> = {};
    const adds = Object.entries(add).map(([dim, n], i) => {
      names[`#c${i}`] = `${COUNTER_PREFIX}${dim}`;
      values[`:c${i}`] = n;
      return `#c${i} :c${i}`;
    });
    return {
      Update: {
        TableName: table,
        Key: targetKey(target),
        UpdateExpression: `ADD ${adds.join(', ')}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      },
    };
  });
  const rows = change.rows.map((row: ExpiryRow) => {
    const day = row.at.slice(0, 10);
    return {
      Update: {
        TableName: table,
        Key: key(rowsPk(day), `${row.at}#${row.keyId}`),
        UpdateExpression: 'SET #parts = :parts, #dims = :dims, #counted = :counted, #ttl = :ttl',
        ExpressionAttributeNames: {
          '#parts': 'partitions',
          '#dims': 'dims',
          '#counted': 'counted',
          '#ttl': TTL,
        },
        ExpressionAttributeValues: {
          ':parts': [...row.partitions],
          ':dims': [...row.dims],
          ':counted': row.counted,
          ':ttl': Math.floor(Date.parse(day) / 1000) + (1 + ROW_KEEP_DAYS) * (DAY_MS / 1000),
        },
      },
    };
  });
  try {
    await dynamodb.send(new TransactWriteCommand({ TransactItems: [put, ...counters, ...rows] }));
  } catch (error) {
    if (error instanceof TransactionCanceledException) {
      const codes = (error.CancellationReasons ?? []).map((r) => r.Code);
      if (codes.some((c) => c === 'ConditionalCheckFailed' || c === 'TransactionConflict')) {
        throw new StatsRaceError(`key stats for ${keyId} changed concurrently (${codes.join(',')})`);
      }
    }
    throw error;
  }
}

async function queryAll(input: Omit<QueryCommandInput, 'TableName'>): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await dynamodb.send(
      new QueryCommand({
        ...input,
        TableName: tableName('counters'),
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    items.push(...((out.Items ?? []) as Record<string, unknown>[]));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}

function countsOf(item: Record<string, unknown> | undefined): Counts {
  const out: Record<string, number> = {};
  for (const [attr, value] of Object.entries(item ?? {})) {
    if (attr.startsWith(COUNTER_PREFIX)) out[attr.slice(COUNTER_PREFIX.length)] = Number(value);
  }
  return out;
}

export interface PartitionCounts {
  readonly totals: Counts;
  /** Expiry-day buckets of the days before `today`: every key in them has expired. */
  readonly expiredDays: readonly Counts[];
}

/**
 * A partition's totals and its expiry-day buckets before `today` (`YYYY-MM-DD`). Bounded: one item,
 * plus one item per past day on which some key of the partition expired.
 */
export async function readPartitionCounts(partition: string, today: string): Promise<PartitionCounts> {
  const pk = statsPk(partition);
  const yesterday = new Date(Date.parse(today) - DAY_MS).toISOString().slice(0, 10);
  const [totals, days] = await Promise.all([
    queryAll({
      KeyConditionExpression: '#pk = :pk AND #sk = :sk',
      ExpressionAttributeNames: { '#pk': PK, '#sk': SK },
      ExpressionAttributeValues: { ':pk': pk, ':sk': TOTALS_SK },
      ConsistentRead: true,
    }),
    queryAll({
      KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :to',
      ExpressionAttributeNames: { '#pk': PK, '#sk': SK },
      ExpressionAttributeValues: {
        ':pk': pk,
        ':from': expiryDaySk('0000-01-01'),
        ':to': expiryDaySk(yesterday),
      },
      ConsistentRead: true,
    }),
  ]);
  return { totals: countsOf(totals[0]), expiredDays: days.map(countsOf) };
}

/** Rows of keys of `partition` expiring on `now`'s day at or before `now`. Bounded by that day's expiries. */
export async function readExpiredToday(
  partition: string,
  now: Date,
): Promise<Pick<ExpiryRow, 'dims' | 'counted'>[]> {
  const iso = now.toISOString();
  // `~` sorts after every key id character: a key expiring at exactly `now` is included.
  const rows = await queryAll({
    KeyConditionExpression: '#pk = :pk AND #sk <= :to',
    FilterExpression: '#counted = :yes AND contains(#parts, :part)',
    ExpressionAttributeNames: { '#pk': PK, '#sk': SK, '#counted': 'counted', '#parts': 'partitions' },
    ExpressionAttributeValues: {
      ':pk': rowsPk(iso.slice(0, 10)),
      ':to': `${iso}#~`,
      ':yes': true,
      ':part': partition,
    },
    ConsistentRead: true,
  });
  return rows.map((r) => ({ dims: (r.dims as string[]) ?? [], counted: r.counted === true }));
}
