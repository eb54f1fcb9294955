/**
 * Rate limit and quota of one allowed request (docs/authorizer.md#rate-limits-and-quotas): at most
 * one conditional write per limit the key has, none for a key without limits, and none for a
 * request this instance already knows is over (`FullCounters`).
 */
import type { ApiKeyItem } from '../domain/api-key';
import {
  FullCounters,
  type LimitReason,
  quotaPeriod,
  rateWindow,
  retryAfterSeconds,
} from '../domain/rate-limit';
import { countInQuota, countInRateWindow } from '../repositories/counters-repository';

export interface LimitDenial {
  readonly effect: 'deny';
  readonly reason: LimitReason;
  readonly key: ApiKeyItem;
  /** Whole seconds until a retry can succeed; absent when waiting does not help (a quota without refill). */
  readonly retryAfterSeconds?: number;
}

/** Where an admitted request left the key's limits: the backend may show them to its caller. */
export interface LimitStatus {
  readonly rate?: { readonly limit: number; readonly remaining: number; readonly resetAt: Date };
  readonly quota?: { readonly remaining: number; readonly refillAt?: Date };
}

// Per execution environment: the windows and periods this instance saw refused.
const fullWindows = new FullCounters();
const fullQuotas = new FullCounters();

function denial(key: ApiKeyItem, reason: LimitReason, until: Date | undefined, now: Date): LimitDenial {
  return until
    ? { effect: 'deny', reason, key, retryAfterSeconds: retryAfterSeconds(until, now) }
    : { effect: 'deny', reason, key };
}

/**
 * Counts the request against the key's rate window, then its quota. A request refused by the rate
 * limit never touches the quota; one refused by the quota has used its place in the rate window
 * (the rate limit counts requests the key made, the quota requests it was served).
 */
export async function applyLimits(
  key: ApiKeyItem,
  now: Date,
): Promise<{ readonly denial?: LimitDenial; readonly status: LimitStatus }> {
  const window = rateWindow(key, now);
  const period = quotaPeriod(key, now);
  if (!window && !period) return { status: {} };
  let status: LimitStatus = {};
  if (window) {
    const counter = window.start.toISOString();
    if (fullWindows.isFull(key.id, counter, window.limit)) {
      return { denial: denial(key, 'rate_limited', window.end, now), status };
    }
    const counted = await countInRateWindow(key.id, window, window.limit);
    if (!counted.admitted) {
      fullWindows.markFull(key.id, counter, counted.count);
      return { denial: denial(key, 'rate_limited', window.end, now), status };
    }
    status = { rate: { limit: window.limit, remaining: window.limit - counted.count, resetAt: window.end } };
  }
  if (period) {
    if (fullQuotas.isFull(key.id, period.id, period.allowance)) {
      return { denial: denial(key, 'quota_exhausted', period.end, now), status };
    }
    const counted = await countInQuota(key.id, period);
    if (!counted.admitted) {
      fullQuotas.markFull(key.id, period.id, counted.count);
      return { denial: denial(key, 'quota_exhausted', period.end, now), status };
    }
    status = {
      ...status,
      quota: { remaining: period.allowance - counted.count, ...(period.end ? { refillAt: period.end } : {}) },
    };
  }
  return { status };
}
