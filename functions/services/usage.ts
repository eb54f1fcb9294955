/** A key's current rate window (docs/management-api.md): the key's limit against the shared minute counter. */
import { getMinuteCount, minuteWindow } from '../repositories/counters-repository';
import { type Clock, describeKey } from './api-keys';

export interface KeyUsage {
  readonly key_id: string;
  readonly window_start: string;
  readonly request_count: number;
  readonly rate_limit: number | null;
  readonly remaining: number | null;
  readonly reset_at: string;
  readonly totals: {
    readonly allowed: number;
    readonly denied: number;
    readonly last_used_at: string | null;
  };
}

/** 404 when no such key exists; needs no kms:Decrypt (metadata is not read). */
export async function keyUsage(id: string, clock: Clock = () => new Date()): Promise<KeyUsage> {
  const key = await describeKey(id, false, clock);
  const window = minuteWindow(clock());
  const count = await getMinuteCount(key.id, window.start);
  return {
    key_id: key.id,
    window_start: window.start.toISOString(),
    request_count: count.allowed,
    rate_limit: key.rate_limit,
    remaining: key.rate_limit === null ? null : Math.max(key.rate_limit - count.allowed, 0),
    reset_at: window.end.toISOString(),
    totals: { allowed: count.allowed, denied: count.denied, last_used_at: key.last_used_at },
  };
}
