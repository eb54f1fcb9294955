/**
 * The counters table, apart from the keys table so counting never feeds the audit stream. Items
 * expire by TTL. What is in it (docs/audit-and-events.md):
 *
 * - `USAGE#<key id>` / `M#<minute start ISO>`: allowed requests in that minute (`allowed`), added by
 *   the authorizer after the minute ended (`addAllowedCount`);
 * - `USAGE#<key id>` / `USED#<minute start ISO>`: the marker that picks the one instance writing the
 *   minute's `admin.api_key_used` entry;
 * - `ALERT#<key id>` / `expiring#<days>#<expires_at>` or `expired#<expires_at>`: expiry alerts sent.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { tables } from '../../lib/declaration';
import { dynamodb } from '../shared/clients';
import { tableName } from '../shared/config';

const COUNTERS = tables.counters;
const PK = COUNTERS.partitionKey.name;
const TTL = COUNTERS.ttlAttribute;
const key = (pk: string, sk: string) => ({ [PK]: pk, [COUNTERS.sortKey.name]: sk });

export const MINUTE_MS = 60_000;
/** Minute counters only back the usage view and the once-per-minute `used` entry. */
const COUNTER_TTL_SECONDS = 7 * 86_400;

export function minuteWindow(now: Date): { start: Date; end: Date } {
  const start = new Date(Math.floor(now.getTime() / MINUTE_MS) * MINUTE_MS);
  return { start, end: new Date(start.getTime() + MINUTE_MS) };
}

function usagePk(keyId: string): string {
  return `USAGE#${keyId}`;
}

function minuteSk(start: Date): string {
  return `M#${start.toISOString()}`;
}

export interface WindowCount {
  readonly allowed: number;
  /** Always 0 today: nothing counts refusals in this table (they are audit entries). */
  readonly denied: number;
}

export async function getMinuteCount(keyId: string, start: Date): Promise<WindowCount> {
  const out = await dynamodb.send(
    new GetCommand({ TableName: tableName('counters'), Key: key(usagePk(keyId), minuteSk(start)) }),
  );
  return { allowed: Number(out.Item?.allowed ?? 0), denied: Number(out.Item?.denied ?? 0) };
}

/**
 * A once-only marker (e.g. "the 7-day expiry alert for this expiry date was sent"). `claim` is a
 * conditional put: of two racing callers exactly one gets `true`. A released marker (the work it
 * guarded failed) can be claimed again.
 */
export async function claimMarker(pk: string, sk: string, expiresAt: Date): Promise<boolean> {
  try {
    await dynamodb.send(
      new PutCommand({
        TableName: tableName('counters'),
        Item: {
          ...key(pk, sk),
          claimed_at: new Date().toISOString(),
          [TTL]: Math.floor(expiresAt.getTime() / 1000),
        },
        ConditionExpression: 'attribute_not_exists(#pk) OR #released = :yes',
        ExpressionAttributeNames: { '#pk': PK, '#released': 'released' },
        ExpressionAttributeValues: { ':yes': true },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

/**
 * Gives a claim back when the work it guarded failed, so the next run tries again. An update, not
 * a delete: no Latchkey role may delete items from any table.
 */
export async function releaseMarker(pk: string, sk: string): Promise<void> {
  await dynamodb.send(
    new UpdateCommand({
      TableName: tableName('counters'),
      Key: key(pk, sk),
      UpdateExpression: 'SET #released = :yes',
      ConditionExpression: 'attribute_exists(#pk)',
      ExpressionAttributeNames: { '#pk': PK, '#released': 'released' },
      ExpressionAttributeValues: { ':yes': true },
    }),
  );
}

/**
 * Adds one authorizer instance's allowed count for a minute to the shared counter item and returns
 * the total so far. Runs once per key per minute per instance, after the minute ended.
 */
export async function addAllowedCount(keyId: string, windowStart: Date, count: number): Promise<number> {
  const out = await dynamodb.send(
    new UpdateCommand({
      TableName: tableName('counters'),
      Key: key(usagePk(keyId), minuteSk(windowStart)),
      UpdateExpression: 'ADD #allowed :n SET #ttl = if_not_exists(#ttl, :ttl)',
      ExpressionAttributeNames: { '#allowed': 'allowed', '#ttl': TTL },
      ExpressionAttributeValues: {
        ':n': count,
        ':ttl': Math.floor(windowStart.getTime() / 1000) + COUNTER_TTL_SECONDS,
      },
      ReturnValues: 'UPDATED_NEW',
    }),
  );
  return Number(out.Attributes?.allowed ?? count);
}

/** The once-per-key-per-minute marker that decides which instance writes the `used` entry. */
export function usedMarkerKey(keyId: string, windowStart: Date): { pk: string; sk: string; expiresAt: Date } {
  return {
    pk: usagePk(keyId),
    sk: `USED#${windowStart.toISOString()}`,
    expiresAt: new Date(windowStart.getTime() + COUNTER_TTL_SECONDS * 1000),
  };
}
