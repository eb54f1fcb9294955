/**
 * The authorizer's counts for the overview (docs/analytics.md): allowed requests per key and day,
 * each module's last use, and refusals per hour by status and reason. Counted in memory, per
 * execution environment and minute; nothing is written per request. The first call in a later
 * minute turns the finished minute into writes (`activity-repository.ts`), and each call awaits at
 * most FLUSH_PER_CALL of them until none is left, so no request waits on many. Never throws.
 *
 * The hot path returns `undefined` (nothing to await) unless writes are pending, so a refusal costs
 * a few Map operations.
 */
import { ALL_PARTITION as ALL, organizationPartition as org } from '../domain/partitions';
import { addDailyUse, addRefusals, markModuleUse } from '../repositories/activity-repository';
import { logger } from '../shared/light-logger';

const MINUTE_MS = 60_000;
const FLUSH_PER_CALL = 25;

export interface CountedKey {
  readonly id: string;
  readonly key_prefix: string;
  readonly organization_id: string;
}

interface Use {
  readonly key: CountedKey;
  count: number;
}

let currentMinute = Number.NEGATIVE_INFINITY;
let uses = new Map<string, Use>();
let modules = new Set<string>();
/** `<partition>|<status>:<reason>` → count. */
let refusals = new Map<string, number>();
const pending: (() => Promise<void>)[] = [];

function roll(now: Date): void {
  const minute = now.getTime() - (now.getTime() % MINUTE_MS);
  if (minute === currentMinute) return;
  if (minute > currentMinute) {
    if (Number.isFinite(currentMinute)) queueMinute(currentMinute);
    currentMinute = minute;
  }
  // A clock that went back (another instance's time, a test) counts in the minute already open.
}

function queueMinute(minute: number): void {
  const iso = new Date(minute).toISOString();
  const day = iso.slice(0, 10);
  const hour = iso.slice(0, 13);
  for (const { key, count } of uses.values()) {
    for (const partition of [ALL, org(key.organization_id)]) {
      pending.push(() => addDailyUse(key.id, key.key_prefix, partition, day, count));
    }
  }
  for (const entry of modules) {
    const [partition = ALL, module = ''] = entry.split('|');
    pending.push(() => markModuleUse(partition, module, iso));
  }
  const byPartition = new Map<string, Record<string, number>>();
  for (const [entry, n] of refusals) {
    const at = entry.indexOf('|');
    const partition = entry.slice(0, at);
    const counts = byPartition.get(partition) ?? {};
    counts[entry.slice(at + 1)] = n;
    byPartition.set(partition, counts);
  }
  for (const [partition, counts] of byPartition) pending.push(() => addRefusals(partition, hour, counts));
  uses = new Map();
  modules = new Set();
  refusals = new Map();
}

async function flush(): Promise<void> {
  await Promise.all(
    pending.splice(0, FLUSH_PER_CALL).map((write) =>
      write().catch((error: unknown) => {
        // Telemetry, not a decision: a lost minute must not fail a request.
        logger.warn('Could not record activity', { error_name: (error as Error).name });
      }),
    ),
  );
}

const flushIfPending = (): Promise<void> | undefined => (pending.length ? flush() : undefined);

/** An allowed request of `key` to a route needing `scope`. */
export function countAllowed(
  key: CountedKey,
  scope: string | undefined,
  now: Date,
): Promise<void> | undefined {
  roll(now);
  const use = uses.get(key.id);
  if (use) use.count++;
  else uses.set(key.id, { key, count: 1 });
  if (scope) {
    const module = scope.slice(0, scope.indexOf(':'));
    modules.add(`${ALL}|${module}`);
    modules.add(`${org(key.organization_id)}|${module}`);
  }
  return flushIfPending();
}

/** A refused request; `organizationId` when the token named an existing key. */
export function countRefused(
  status: number,
  reason: string,
  organizationId: string | undefined,
  now: Date,
): Promise<void> | undefined {
  roll(now);
  const what = `${status}:${reason}`;
  const all = `${ALL}|${what}`;
  refusals.set(all, (refusals.get(all) ?? 0) + 1);
  if (organizationId !== undefined) {
    const mine = `${org(organizationId)}|${what}`;
    refusals.set(mine, (refusals.get(mine) ?? 0) + 1);
  }
  return flushIfPending();
}
