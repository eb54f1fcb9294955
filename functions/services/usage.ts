/**
 * A key's usage (docs/management-api.md#usage): its current rate window, quota and last use as the
 * counters table holds them now, and its per-minute (24 h) and per-hour (30 days) series of allowed
 * requests and refusals by reason.
 */
import { type ApiKeyItem, quotaRemaining } from '../domain/api-key';
import { NotFoundError } from '../domain/errors';
import { quotaPeriod, rateWindow } from '../domain/rate-limit';
import { isKeyId } from '../domain/token';
import {
  type CounterItem,
  HOUR_MS,
  hourStart,
  keyCounters,
  liveState,
  MINUTE_MS,
  minuteWindow,
  rateWindowCount,
} from '../repositories/counters-repository';
import { getKey } from '../repositories/keys-repository';
import type { Clock } from './api-keys';

const SERIES_MINUTES = 24 * 60;
const SERIES_HOURS = 30 * 24;

export interface UsageBucket {
  /** The minute or hour the counts are for. */
  readonly start: string;
  readonly allowed: number;
  readonly denied: number;
  readonly denied_by_reason: Readonly<Record<string, number>>;
}

export interface KeyUsage {
  readonly key_id: string;
  /** The current rate window (the current minute for a key without a rate limit). */
  readonly window_start: string;
  readonly window_seconds: number;
  /** Requests counted in that window: exact with a rate limit; without, as flushed so far. */
  readonly request_count: number;
  readonly rate_limit: number | null;
  readonly remaining: number | null;
  readonly reset_at: string;
  readonly quota: {
    readonly remaining: number;
    /** What the current refill period admits in all. */
    readonly allowance: number;
    readonly period_start: string;
    readonly next_refill_at: string | null;
  } | null;
  readonly last_used_at: string | null;
  /** Over the hourly series (the last 30 days). */
  readonly totals: {
    readonly since: string;
    readonly allowed: number;
    readonly denied: number;
    readonly denied_by_reason: Readonly<Record<string, number>>;
    readonly last_used_at: string | null;
  };
  /** Only buckets with traffic, oldest first. */
  readonly series: { readonly minutes: UsageBucket[]; readonly hours: UsageBucket[] };
}

function bucket(item: CounterItem): UsageBucket {
  const byReason: Record<string, number> = {};
  let denied = 0;
  for (const [name, n] of Object.entries(item.counts)) {
    if (!name.startsWith('denied_')) continue;
    byReason[name.slice('denied_'.length)] = n;
    denied += n;
  }
  return { start: item.start, allowed: item.counts.allowed ?? 0, denied, denied_by_reason: byReason };
}

function totalOf(buckets: readonly UsageBucket[]) {
  const byReason: Record<string, number> = {};
  let allowed = 0;
  let denied = 0;
  for (const b of buckets) {
    allowed += b.allowed;
    denied += b.denied;
    for (const [r, n] of Object.entries(b.denied_by_reason)) byReason[r] = (byReason[r] ?? 0) + n;
  }
  return { allowed, denied, denied_by_reason: byReason };
}

/** 404 when no such key exists; needs no kms:Decrypt (metadata is not read). */
export async function keyUsage(id: string, clock: Clock = () => new Date()): Promise<KeyUsage> {
  const item: ApiKeyItem | undefined = isKeyId(id) ? await getKey(id) : undefined;
  if (!item) throw new NotFoundError(`No API key with id ${JSON.stringify(id)}.`);
  const now = clock();
  const minute = minuteWindow(now);
  const hour = hourStart(now);
  const firstHour = new Date(hour.getTime() - (SERIES_HOURS - 1) * HOUR_MS);
  const rate = rateWindow(item, now);
  const [minutes, hours, live, windowCount] = await Promise.all([
    keyCounters(
      item.id,
      'M#',
      new Date(minute.start.getTime() - (SERIES_MINUTES - 1) * MINUTE_MS),
      minute.start,
    ),
    keyCounters(item.id, 'H#', firstHour, hour),
    liveState(item.id),
    rate ? rateWindowCount(item.id, rate.start) : Promise.resolve(undefined),
  ]);
  const minuteBuckets = minutes.map(bucket);
  const hourBuckets = hours.map(bucket);
  const currentMinute = minuteBuckets.find((b) => b.start === minute.start.toISOString());
  const requestCount = windowCount ?? currentMinute?.allowed ?? 0;
  const period = quotaPeriod(item, now);
  return {
    key_id: item.id,
    window_start: (rate?.start ?? minute.start).toISOString(),
    window_seconds: rate?.seconds ?? MINUTE_MS / 1000,
    request_count: requestCount,
    rate_limit: rate?.limit ?? null,
    remaining: rate ? Math.max(rate.limit - requestCount, 0) : null,
    reset_at: (rate?.end ?? minute.end).toISOString(),
    quota: period
      ? {
          remaining: quotaRemaining(item, now, live) ?? 0,
          allowance: period.allowance,
          period_start: period.start.toISOString(),
          next_refill_at: period.end?.toISOString() ?? null,
        }
      : null,
    last_used_at: live.last_used_at ?? null,
    totals: {
      since: firstHour.toISOString(),
      ...totalOf(hourBuckets),
      last_used_at: live.last_used_at ?? null,
    },
    series: { minutes: minuteBuckets, hours: hourBuckets },
  };
}
