/**
 * The counters table, apart from the keys table so counting never feeds the audit stream. Most
 * items expire by TTL. What is in it (docs/architecture.md#tables, docs/authorizer.md):
 *
 * `USAGE#<key id>` partition, one per key:
 * - `W#<window start>`: `count`, the key's rate window; one conditional ADD per request (`countRequest`);
 * - `LIVE#Q#<anchor>#<period>`: `used`, the key's quota in one refill period, likewise;
 * - `LIVE#~last`: `last_used_at`, moved forward at most once per minute per authorizer instance;
 * - `M#<minute start>` / `H#<hour start>`: `allowed` and `denied_<reason>`, added by each authorizer
 *   instance once the minute is over;
 * - `USED#<minute start>`: which instance writes the minute's `admin.api_key_used` entry;
 * - `IPS#<window start>`: the source IPs the key was used from in a suspicion window.
 *
 * `IP#<source ip>` partition: `M#<minute start>` junk refusal counts (`denied_<reason>`),
 * `SUMMARY#<minute start>` (which instance writes the minute's summary entry) and `COOLDOWN`.
 * `SUSPICIOUS` / `<window start>#<key id>`: keys seen from unusually many IPs, until notified.
 * `ALERT#<key id>` / `expiring#<days>#<expires_at>` or `expired#<expires_at>`: expiry alerts sent.
 *
 * `LIVE#` items sort last-use after the quota periods, so one Query (descending, two items) reads
 * both (`liveState`).
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { tables } from '../../lib/declaration';
import type { LiveState } from '../domain/api-key';
import { dynamodb } from '../shared/clients';
import { tableName } from '../shared/config';

const COUNTERS = tables.counters;
const PK = COUNTERS.partitionKey.name;
const SK = COUNTERS.sortKey.name;
const TTL = COUNTERS.ttlAttribute;
const key = (pk: string, sk: string) => ({ [PK]: pk, [SK]: sk });

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
const DAY_S = 86_400;
/** Minute items back the last 24 h of the usage series; hour items the last 30 days. */
const MINUTE_TTL_S = 2 * DAY_S;
const HOUR_TTL_S = 32 * DAY_S;
/** Markers only need to outlive the minute they guard, by far. */
const MARKER_TTL_S = 7 * DAY_S;

const epochS = (ms: number) => Math.floor(ms / 1000);

export function minuteWindow(now: Date): { start: Date; end: Date } {
  const start = new Date(Math.floor(now.getTime() / MINUTE_MS) * MINUTE_MS);
  return { start, end: new Date(start.getTime() + MINUTE_MS) };
}

export function hourStart(at: Date): Date {
  return new Date(Math.floor(at.getTime() / HOUR_MS) * HOUR_MS);
}

const usagePk = (keyId: string) => `USAGE#${keyId}`;
const ipPk = (ip: string) => `IP#${ip}`;
const minuteSk = (start: Date) => `M#${start.toISOString()}`;
const hourSk = (start: Date) => `H#${start.toISOString()}`;
const LIVE = 'LIVE#';
const QUOTA_PREFIX = `${LIVE}Q#`;
const LAST_SK = `${LIVE}~last`;
const SUSPICIOUS_PK = 'SUSPICIOUS';

/** The count an item held when a conditional write on it was refused (the SDK returns it raw). */
function countOf(error: ConditionalCheckFailedException, attribute: string): number {
  const raw = (error.Item as Record<string, unknown> | undefined)?.[attribute];
  if (raw && typeof raw === 'object' && 'N' in raw) return Number((raw as { N: string }).N);
  return Number(raw ?? 0);
}

export interface CountResult {
  /** Whether this request was counted (the counter was below its limit). */
  readonly admitted: boolean;
  /** The counter after this request when admitted; what it held when refused. */
  readonly count: number;
}

/**
 * One request against a counter that may hold at most `limit`: a single conditional UpdateItem
 * (`ADD 1` if below the limit), atomic in DynamoDB, so however many authorizer instances race, no
 * more than `limit` requests are ever admitted. `expiresAt`: when the item may go (none: never).
 */
async function countAgainst(
  pk: string,
  sk: string,
  attribute: string,
  limit: number,
  expiresAt: Date | undefined,
): Promise<CountResult> {
  // `attribute_not_exists` would admit the first request against a limit of 0.
  if (limit <= 0) return { admitted: false, count: 0 };
  try {
    const out = await dynamodb.send(
      new UpdateCommand({
        TableName: tableName('counters'),
        Key: key(pk, sk),
        UpdateExpression: `ADD #n :one${expiresAt ? ' SET #ttl = if_not_exists(#ttl, :ttl)' : ''}`,
        ConditionExpression: 'attribute_not_exists(#n) OR #n < :limit',
        ExpressionAttributeNames: { '#n': attribute, ...(expiresAt ? { '#ttl': TTL } : {}) },
        ExpressionAttributeValues: {
          ':one': 1,
          ':limit': limit,
          ...(expiresAt ? { ':ttl': epochS(expiresAt.getTime()) } : {}),
        },
        ReturnValues: 'UPDATED_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return { admitted: true, count: Number(out.Attributes?.[attribute] ?? 1) };
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) {
      return { admitted: false, count: countOf(error, attribute) };
    }
    throw error;
  }
}

/** One request in the key's rate window (`W#<start>`), which expires an hour after it ends. */
export function countInRateWindow(
  keyId: string,
  window: { readonly start: Date; readonly end: Date },
  limit: number,
): Promise<CountResult> {
  return countAgainst(
    usagePk(keyId),
    `W#${window.start.toISOString()}`,
    'count',
    limit,
    new Date(window.end.getTime() + HOUR_MS),
  );
}

/**
 * One request in the key's quota period. A period with a refill expires a day after it ends; a
 * quota without refill never expires (it must not come back by itself).
 */
export function countInQuota(
  keyId: string,
  period: { readonly id: string; readonly allowance: number; readonly end?: Date | undefined },
): Promise<CountResult> {
  return countAgainst(
    usagePk(keyId),
    `${QUOTA_PREFIX}${period.id}`,
    'used',
    period.allowance,
    period.end ? new Date(period.end.getTime() + DAY_S * 1000) : undefined,
  );
}

/** The key's rate window count as stored (0 when nothing was counted in it). */
export async function rateWindowCount(keyId: string, windowStart: Date): Promise<number> {
  const out = await dynamodb.send(
    new QueryCommand({
      TableName: tableName('counters'),
      KeyConditionExpression: '#pk = :pk AND #sk = :sk',
      ExpressionAttributeNames: { '#pk': PK, '#sk': SK },
      ExpressionAttributeValues: { ':pk': usagePk(keyId), ':sk': `W#${windowStart.toISOString()}` },
      ConsistentRead: true,
    }),
  );
  return Number(out.Items?.[0]?.count ?? 0);
}

/**
 * Moves the key's last use forward to `at` (never back): one write, which the authorizer makes at
 * most once per key per minute per instance. A later value already there is not an error.
 */
export async function markLastUsed(keyId: string, at: Date): Promise<void> {
  try {
    await dynamodb.send(
      new UpdateCommand({
        TableName: tableName('counters'),
        Key: key(usagePk(keyId), LAST_SK),
        UpdateExpression: 'SET #at = :at',
        ConditionExpression: 'attribute_not_exists(#at) OR #at < :at',
        ExpressionAttributeNames: { '#at': 'last_used_at' },
        ExpressionAttributeValues: { ':at': at.toISOString() },
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}

/**
 * A key's last use and its latest quota counter: one Query of two items (`LIVE#~last` sorts after
 * every `LIVE#Q#...`, and quota periods sort by anchor and number).
 */
export async function liveState(keyId: string): Promise<LiveState> {
  const out = await dynamodb.send(
    new QueryCommand({
      TableName: tableName('counters'),
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :live)',
      ExpressionAttributeNames: { '#pk': PK, '#sk': SK },
      ExpressionAttributeValues: { ':pk': usagePk(keyId), ':live': LIVE },
      ScanIndexForward: false,
      Limit: 2,
    }),
  );
  let state: LiveState = {};
  for (const item of out.Items ?? []) {
    const sk = String(item[SK]);
    if (sk === LAST_SK && typeof item.last_used_at === 'string') {
      state = { ...state, last_used_at: item.last_used_at };
    } else if (sk.startsWith(QUOTA_PREFIX) && !state.quota) {
      state = { ...state, quota: { period: sk.slice(QUOTA_PREFIX.length), used: Number(item.used ?? 0) } };
    }
  }
  return state;
}

/** `{ allowed: 3, denied_rate_limited: 2 }`: what one instance counted for a key (or IP) in a minute. */
export type Counts = Readonly<Record<string, number>>;

function addExpression(counts: Counts, ttl: number) {
  const names: Record<string, string> = { '#ttl': TTL };
  const values: Record<string, number> = { ':ttl': ttl };
  const adds: string[] = [];
  Object.entries(counts).forEach(([attr, n], i) => {
    if (!n) return;
    names[`#a${i}`] = attr;
    values[`:a${i}`] = n;
    adds.push(`#a${i} :a${i}`);
  });
  return {
    UpdateExpression: `${adds.length ? `ADD ${adds.join(', ')} ` : ''}SET #ttl = if_not_exists(#ttl, :ttl)`,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}

async function addCounts(
  pk: string,
  sk: string,
  counts: Counts,
  ttl: number,
): Promise<Record<string, number>> {
  const out = await dynamodb.send(
    new UpdateCommand({
      TableName: tableName('counters'),
      Key: key(pk, sk),
      ...addExpression(counts, ttl),
      ReturnValues: 'ALL_NEW',
    }),
  );
  const totals: Record<string, number> = {};
  for (const [k, v] of Object.entries(out.Attributes ?? {}))
    if (typeof v === 'number' && k !== TTL) totals[k] = v;
  return totals;
}

/**
 * Adds one authorizer instance's counts for a finished minute to the key's minute and hour items;
 * returns the minute's totals so far (exact once every instance has flushed that minute).
 */
export async function addKeyMinute(
  keyId: string,
  minute: Date,
  counts: Counts,
): Promise<Record<string, number>> {
  const hour = hourStart(minute);
  const [totals] = await Promise.all([
    addCounts(usagePk(keyId), minuteSk(minute), counts, epochS(minute.getTime()) + MINUTE_TTL_S),
    addCounts(usagePk(keyId), hourSk(hour), counts, epochS(hour.getTime()) + HOUR_TTL_S),
  ]);
  return totals;
}

/** Adds one instance's junk refusal counts from a source IP in a finished minute; returns the totals. */
export function addSourceMinute(ip: string, minute: Date, counts: Counts): Promise<Record<string, number>> {
  return addCounts(ipPk(ip), minuteSk(minute), counts, epochS(minute.getTime()) + MINUTE_TTL_S);
}

export interface CounterItem {
  readonly start: string;
  readonly counts: Record<string, number>;
}

async function queryAll(
  input: ConstructorParameters<typeof QueryCommand>[0],
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const out = await dynamodb.send(
      new QueryCommand({ ...input, ...(startKey ? { ExclusiveStartKey: startKey } : {}) }),
    );
    items.push(...(out.Items ?? []));
    startKey = out.LastEvaluatedKey;
  } while (startKey);
  return items;
}

function counterItems(items: Record<string, unknown>[], prefix: string): CounterItem[] {
  return items.map((item) => {
    const counts: Record<string, number> = {};
    for (const [k, v] of Object.entries(item)) if (typeof v === 'number' && k !== TTL) counts[k] = v;
    return { start: String(item[SK]).slice(prefix.length), counts };
  });
}

/** The key's minute (`M#`) or hour (`H#`) items from `from` to `to` (inclusive), oldest first. */
export async function keyCounters(
  keyId: string,
  kind: 'M#' | 'H#',
  from: Date,
  to: Date,
): Promise<CounterItem[]> {
  return counterItems(
    await queryAll({
      TableName: tableName('counters'),
      KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :to',
      ExpressionAttributeNames: { '#pk': PK, '#sk': SK },
      ExpressionAttributeValues: {
        ':pk': usagePk(keyId),
        ':from': `${kind}${from.toISOString()}`,
        ':to': `${kind}${to.toISOString()}`,
      },
    }),
    kind,
  );
}

/**
 * Adds `ip` to the source IPs the key was used from in a suspicion window; returns how many
 * distinct IPs that window holds now. One write per new IP per key and window per instance.
 */
export async function addKeySourceIp(
  keyId: string,
  window: { start: Date; end: Date },
  ip: string,
): Promise<number> {
  const out = await dynamodb.send(
    new UpdateCommand({
      TableName: tableName('counters'),
      Key: key(usagePk(keyId), `IPS#${window.start.toISOString()}`),
      UpdateExpression: 'ADD #ips :ip SET #ttl = if_not_exists(#ttl, :ttl)',
      ExpressionAttributeNames: { '#ips': 'ips', '#ttl': TTL },
      ExpressionAttributeValues: { ':ip': new Set([ip]), ':ttl': epochS(window.end.getTime()) + DAY_S },
      ReturnValues: 'UPDATED_NEW',
    }),
  );
  const ips = out.Attributes?.ips;
  return ips instanceof Set ? ips.size : 1;
}

/** What a pending `ApiKeySuspicious` notice holds: the key's public fields and what was seen. */
export interface SuspicionNotice {
  readonly key_id: string;
  readonly key_prefix: string;
  readonly name: string;
  readonly organization_id: string;
  readonly workspace_id?: string;
  readonly environment: string;
  readonly key_type: string;
  readonly window_start: string;
  readonly window_end: string;
  readonly detected_at: string;
  readonly distinct_source_ips: number;
  /** At most 10, for the person who looks into it. */
  readonly sample_source_ips: readonly string[];
}

/**
 * Notes that a key was seen from unusually many IPs in a window, once per key and window (a
 * conditional put): `false` when it was noted already. The notifier picks it up.
 */
export async function noteSuspicion(notice: SuspicionNotice): Promise<boolean> {
  try {
    await dynamodb.send(
      new PutCommand({
        TableName: tableName('counters'),
        Item: {
          ...key(SUSPICIOUS_PK, `${notice.window_start}#${notice.key_id}`),
          ...notice,
          [TTL]: epochS(Date.parse(notice.detected_at)) + MARKER_TTL_S,
        },
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': PK },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

/** Notices of windows that started at or after `since` and were not notified yet, oldest first. */
export async function pendingSuspicions(since: Date): Promise<(SuspicionNotice & { readonly sk: string })[]> {
  const items = await queryAll({
    TableName: tableName('counters'),
    KeyConditionExpression: '#pk = :pk AND #sk >= :since',
    FilterExpression: 'attribute_not_exists(#sent)',
    ExpressionAttributeNames: { '#pk': PK, '#sk': SK, '#sent': 'notified_at' },
    ExpressionAttributeValues: { ':pk': SUSPICIOUS_PK, ':since': since.toISOString() },
    ConsistentRead: true,
  });
  return items.map((i) => ({ ...(i as unknown as SuspicionNotice), sk: String(i[SK]) }));
}

export async function markSuspicionNotified(sk: string, at: Date): Promise<void> {
  await dynamodb.send(
    new UpdateCommand({
      TableName: tableName('counters'),
      Key: key(SUSPICIOUS_PK, sk),
      UpdateExpression: 'SET #sent = :at',
      ExpressionAttributeNames: { '#sent': 'notified_at' },
      ExpressionAttributeValues: { ':at': at.toISOString() },
    }),
  );
}

/**
 * Claims the audit of `ip`'s cool-down that ends at `until`: of all authorizer instances cooling
 * that IP down, only the first one (until that cool-down is over) gets `true` and writes the entry.
 */
export async function claimCoolDown(ip: string, now: Date, until: Date): Promise<boolean> {
  try {
    await dynamodb.send(
      new PutCommand({
        TableName: tableName('counters'),
        Item: {
          ...key(ipPk(ip), 'COOLDOWN'),
          until: until.toISOString(),
          [TTL]: epochS(until.getTime()) + DAY_S,
        },
        ConditionExpression: 'attribute_not_exists(#pk) OR #until <= :now',
        ExpressionAttributeNames: { '#pk': PK, '#until': 'until' },
        ExpressionAttributeValues: { ':now': now.toISOString() },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
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

/** The once-per-key-per-minute marker that decides which instance writes the `used` entry. */
export function usedMarkerKey(keyId: string, windowStart: Date): { pk: string; sk: string; expiresAt: Date } {
  return {
    pk: usagePk(keyId),
    sk: `USED#${windowStart.toISOString()}`,
    expiresAt: new Date(windowStart.getTime() + MARKER_TTL_S * 1000),
  };
}

/** The once-per-IP-per-minute marker that decides which instance writes the summary entry. */
export function summaryMarkerKey(ip: string, minute: Date): { pk: string; sk: string; expiresAt: Date } {
  return {
    pk: ipPk(ip),
    sk: `SUMMARY#${minute.toISOString()}`,
    expiresAt: new Date(minute.getTime() + MARKER_TTL_S * 1000),
  };
}
