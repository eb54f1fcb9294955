/**
 * `GET /v1/api-keys/overview` (docs/analytics.md): the registry's figures from aggregates kept by the
 * stream consumer and counts written by the authorizer, read with a bounded number of GetItems and
 * Queries, never a Scan. `expired` is computed for the instant of the request: keys whose expiry
 * has passed are subtracted from what they counted as, with no write at expiry.
 */
import { effectiveStatus, type KeyStatus } from '../domain/api-key';
import { expiredCounts, type RegistrySummary, summarize } from '../domain/key-stats';
import { ALL_PARTITION, organizationPartition } from '../domain/partitions';
import { moduleLastUses, mostUsedKeys, refusalsBetween } from '../repositories/activity-repository';
import { getKey } from '../repositories/keys-repository';
import { readExpiredToday, readPartitionCounts } from '../repositories/stats-repository';
import type { Clock } from './api-keys';

const HOUR_MS = 3_600_000;
export const MOST_USED_LIMIT = 10;
/** How many days back `day` may go: per-key daily counts are kept 35 days. */
export const MOST_USED_DAYS = 30;

export interface OverviewQuery {
  readonly organization_id?: string | undefined;
  /** `YYYY-MM-DD` (UTC) of the most-used ranking; default today. */
  readonly day?: string | undefined;
}

export interface RefusalSummary {
  /** Start of the oldest hour counted (the current hour and the 23 before it). */
  readonly from: string;
  readonly to: string;
  readonly total: number;
  readonly by_reason: Readonly<Record<string, number>>;
}

export interface Overview extends RegistrySummary {
  readonly organization_id: string | null;
  readonly generated_at: string;
  readonly most_used_keys: {
    readonly day: string;
    readonly items: readonly {
      key_id: string;
      key_prefix: string;
      name: string | null;
      status: KeyStatus | null;
      allowed: number;
    }[];
  };
  /** 401s: requests that identified no usable key (missing, malformed, unknown, wrong secret, ...). */
  readonly failed_authentications: RefusalSummary;
  /** Every other refusal (403 and any other status): a known key that may not make the request. */
  readonly denied_requests: RefusalSummary & { readonly by_status: Readonly<Record<string, number>> };
}

export async function keyOverview(query: OverviewQuery, clock: Clock = () => new Date()): Promise<Overview> {
  const now = clock();
  const iso = now.toISOString();
  const today = iso.slice(0, 10);
  const partition = query.organization_id ? organizationPartition(query.organization_id) : ALL_PARTITION;
  const day = query.day ?? today;
  const fromHour = new Date(now.getTime() - 23 * HOUR_MS).toISOString().slice(0, 13);
  const [counts, expiredToday, lastUsed, refusals, top] = await Promise.all([
    readPartitionCounts(partition, today),
    readExpiredToday(partition, now),
    moduleLastUses(partition),
    refusalsBetween(partition, fromHour, iso.slice(0, 13)),
    mostUsedKeys(partition, day, MOST_USED_LIMIT),
  ]);
  const summary = summarize(counts.totals, expiredCounts(counts.expiredDays, expiredToday), lastUsed);
  const items = await Promise.all(
    top.map(async (use) => {
      const key = await getKey(use.key_id);
      return {
        key_id: use.key_id,
        key_prefix: use.key_prefix,
        name: key?.name ?? null,
        status: key ? effectiveStatus(key, now) : null,
        allowed: use.allowed,
      };
    }),
  );
  const window = { from: `${fromHour}:00:00.000Z`, to: iso };
  const failed: Record<string, number> = {};
  const denied: Record<string, number> = {};
  const deniedByStatus: Record<string, number> = {};
  for (const [what, n] of Object.entries(refusals)) {
    const at = what.indexOf(':');
    const status = what.slice(0, at);
    const reason = what.slice(at + 1);
    if (status === '401') failed[reason] = (failed[reason] ?? 0) + n;
    else {
      denied[reason] = (denied[reason] ?? 0) + n;
      deniedByStatus[status] = (deniedByStatus[status] ?? 0) + n;
    }
  }
  const total = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
  return {
    organization_id: query.organization_id ?? null,
    generated_at: iso,
    ...summary,
    most_used_keys: { day, items },
    failed_authentications: { ...window, total: total(failed), by_reason: failed },
    denied_requests: { ...window, total: total(denied), by_status: deniedByStatus, by_reason: denied },
  };
}
