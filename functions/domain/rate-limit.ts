/**
 * Per-key traffic limits (docs/authorizer.md#rate-limits-and-quotas), as pure rules: which counter
 * a request counts against and how far that counter may go. The counters themselves live in the
 * counters table (one conditional write per request, `functions/repositories/counters-repository.ts`).
 *
 * - Rate limit: `rate_limit` requests per fixed window of `rate_limit_window_seconds` (default 60),
 *   windows aligned to multiples of their length since the Unix epoch (a 60 s window starts on the
 *   minute), so every authorizer instance counts into the same window item without coordination.
 * - Quota: `remaining` requests from the moment it was set (`anchor_at`); with a refill, every
 *   `refill_interval_seconds` after that moment the key may again make `refill_amount` requests
 *   (the count restarts: unused requests do not carry over). Each refill period is its own counter,
 *   so a refill needs no scheduler and no write: the first request of a new period starts its count.
 */

/** Refusal reasons of the limits: `403` with a `Retry-After` when waiting helps. */
export const LIMIT_REASONS = ['rate_limited', 'quota_exhausted'] as const;
export type LimitReason = (typeof LIMIT_REASONS)[number];

export const DEFAULT_RATE_WINDOW_SECONDS = 60;
export const MAX_RATE_WINDOW_SECONDS = 86_400;
export const MIN_REFILL_INTERVAL_SECONDS = 60;
export const MAX_REFILL_INTERVAL_SECONDS = 366 * 86_400;

/** A key's quota, as stored on the key item. */
export interface QuotaConfig {
  /** Requests the key may make from `anchor_at` until the first refill. */
  readonly remaining: number;
  /** When `remaining` was set (create, or a PATCH giving `remaining`): refills count from here. */
  readonly anchor_at: string;
  readonly refill_amount?: number;
  readonly refill_interval_seconds?: number;
}

/** What of a key the limits read. */
export interface LimitedKey {
  readonly rate_limit?: number;
  readonly rate_limit_window_seconds?: number;
  readonly quota?: QuotaConfig;
}

export interface RateWindow {
  readonly limit: number;
  readonly seconds: number;
  readonly start: Date;
  readonly end: Date;
}

/** The fixed window `now` falls in, or undefined when the key has no rate limit. */
export function rateWindow(key: LimitedKey, now: Date): RateWindow | undefined {
  if (key.rate_limit === undefined) return undefined;
  const seconds = key.rate_limit_window_seconds ?? DEFAULT_RATE_WINDOW_SECONDS;
  const ms = seconds * 1000;
  const start = Math.floor(now.getTime() / ms) * ms;
  return { limit: key.rate_limit, seconds, start: new Date(start), end: new Date(start + ms) };
}

export interface QuotaPeriod {
  /** Names the period's counter: `<anchor ms>#<period number>`, both zero-padded so they sort. */
  readonly id: string;
  /** Requests this period admits in all. */
  readonly allowance: number;
  readonly start: Date;
  /** The next refill; undefined without a refill (the quota never comes back by itself). */
  readonly end?: Date;
}

/** The refill period `now` falls in, or undefined when the key has no quota. */
export function quotaPeriod(key: LimitedKey, now: Date): QuotaPeriod | undefined {
  const q = key.quota;
  if (!q) return undefined;
  const anchor = Date.parse(q.anchor_at);
  const interval = q.refill_interval_seconds;
  if (!interval || q.refill_amount === undefined) {
    return { id: periodId(anchor, 0), allowance: q.remaining, start: new Date(anchor) };
  }
  const ms = interval * 1000;
  const n = Math.max(0, Math.floor((now.getTime() - anchor) / ms));
  const start = anchor + n * ms;
  return {
    id: periodId(anchor, n),
    allowance: n === 0 ? q.remaining : q.refill_amount,
    start: new Date(start),
    end: new Date(start + ms),
  };
}

function periodId(anchorMs: number, n: number): string {
  return `${String(anchorMs).padStart(15, '0')}#${String(n).padStart(10, '0')}`;
}

/** Whole seconds until `until`, at least 1 (a `Retry-After` of 0 invites a busy loop). */
export function retryAfterSeconds(until: Date, now: Date): number {
  return Math.max(1, Math.ceil((until.getTime() - now.getTime()) / 1000));
}

const INTERVAL_UNITS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400 };

/**
 * A refill interval as the API takes it: whole seconds (`3600`), or a number with a unit, `s`, `m`,
 * `h` or `d` (`"90s"`, `"30m"`, `"1h"`, `"7d"`). Undefined when it is neither.
 */
export function parseInterval(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value > 0 ? value : undefined;
  const m = /^([1-9]\d{0,8})([smhd])?$/.exec(value.trim());
  if (!m) return undefined;
  return Number(m[1]) * (INTERVAL_UNITS[m[2] ?? 's'] ?? 1);
}

/**
 * What one authorizer instance knows about a counter without asking the store: counts only grow
 * within a window or refill period, so once a write was refused at `count`, every later request in
 * that window is refused too (while the limit is not raised above it). This keeps a client that
 * hammers past its limit from costing a write per request. Bounded; the oldest entries go first.
 */
export class FullCounters {
  private readonly seen = new Map<string, { readonly counter: string; readonly count: number }>();

  constructor(private readonly max = 10_000) {}

  /** Whether `counter` (a window or period of `keyId`) is known to hold `limit` already. */
  isFull(keyId: string, counter: string, limit: number): boolean {
    const s = this.seen.get(keyId);
    return s !== undefined && s.counter === counter && s.count >= limit;
  }

  /** Records that a write to `counter` was refused at `count`. */
  markFull(keyId: string, counter: string, count: number): void {
    this.seen.delete(keyId);
    if (this.seen.size >= this.max) {
      const oldest = this.seen.keys().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    this.seen.set(keyId, { counter, count });
  }
}
