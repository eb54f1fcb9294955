/**
 * Keys that age safely without anyone watching (SPEC §7): expiry alerts once per threshold, and
 * scheduled rotation that delivers the new token only to the key's own destination. Both find
 * their keys through sparse indexes, one day-partition at a time (never a Scan), and both are
 * safe to run twice at once: alerts are claimed with a conditional put, rotations are
 * conditional on the version read.
 */
import { type ApiKeyItem, dayOf, effectiveStatus } from '../domain/api-key';
import { ConflictError } from '../domain/errors';
import { keyEvent } from '../domain/events';
import { claimMarker, releaseMarker } from '../repositories/counters-repository';
import { publish } from '../repositories/event-publisher';
import { keysDueForRotation, keysExpiringOn, updateKey } from '../repositories/keys-repository';
import { deliverToken } from '../repositories/secret-destination';
import { logger } from '../shared/logger';
import { rotateKey } from './api-keys';

const DAY_MS = 86_400_000;
export const DEFAULT_THRESHOLDS_DAYS = [14, 7, 1];
/** How far back the scanner looks for keys that expired while it was not running. */
export const EXPIRED_LOOKBACK_DAYS = 7;
/** How far back the rotator looks for rotations that fell due while it was not running. */
export const ROTATION_LOOKBACK_DAYS = 30;
export const ROTATOR_PRINCIPAL = 'latchkey:scheduled-rotation';

function days(from: Date, count: number, step: 1 | -1): string[] {
  return Array.from({ length: count }, (_, i) =>
    dayOf(new Date(from.getTime() + step * i * DAY_MS).toISOString()),
  );
}

export function parseThresholds(raw: string | undefined): number[] {
  if (!raw) return DEFAULT_THRESHOLDS_DAYS;
  const values = raw
    .replace(/[[\]\s]/g, '')
    .split(',')
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
  return values.length ? [...new Set(values)].sort((a, b) => b - a) : DEFAULT_THRESHOLDS_DAYS;
}

export interface ScanResult {
  readonly expiring: { key_id: string; threshold_days: number }[];
  readonly expired: string[];
  /** Keys whose alert could not be sent this time (released, so the next scan retries). */
  readonly failed: { key_id: string; reason: string }[];
}

/**
 * For each key expiring within the widest threshold: the tightest threshold it has crossed is
 * announced once (a key made with 5 days left gets the 7-day alert, not a stale 14-day one).
 * Markers name the expiry date, so an extended key is alerted again for its new date.
 */
export async function scanExpiries(now: Date, thresholds: readonly number[]): Promise<ScanResult> {
  const widest = Math.max(...thresholds);
  const dayList = [
    ...days(new Date(now.getTime() - DAY_MS), EXPIRED_LOOKBACK_DAYS, -1).reverse(),
    ...days(now, widest + 1, 1),
  ];
  const result: ScanResult = { expiring: [], expired: [], failed: [] };
  for (const day of dayList) {
    for (const key of await keysExpiringOn(day)) {
      if (key.status === 'revoked' || !key.expires_at) continue;
      // One key's failure must not keep the others from their alerts.
      try {
        await alertOnce(key, key.expires_at, now, thresholds, result);
      } catch (error) {
        logger.error('Expiry alert failed; it will be retried', {
          key_prefix: key.key_prefix,
          error_name: (error as Error).name,
        });
        result.failed.push({ key_id: key.id, reason: (error as Error).name });
      }
    }
  }
  return result;
}

async function alertOnce(
  key: ApiKeyItem,
  expiresAt: string,
  now: Date,
  thresholds: readonly number[],
  result: ScanResult,
): Promise<void> {
  const remainingMs = Date.parse(expiresAt) - now.getTime();
  const keep = new Date(Date.parse(expiresAt) + 30 * DAY_MS);
  const pk = `ALERT#${key.id}`;
  if (remainingMs <= 0) {
    const sk = `expired#${expiresAt}`;
    if (!(await claimMarker(pk, sk, keep))) return;
    await sendOrRelease(pk, sk, () =>
      publish([
        keyEvent('ApiKeyExpired', `${key.id}:expired:${expiresAt}`, key, now.toISOString(), {
          expires_at: expiresAt,
        }),
      ]),
    );
    result.expired.push(key.id);
    return;
  }
  const crossed = thresholds.filter((t) => remainingMs <= t * DAY_MS);
  if (crossed.length === 0) return;
  const threshold = Math.min(...crossed);
  const sk = `expiring#${threshold}#${expiresAt}`;
  if (!(await claimMarker(pk, sk, keep))) return;
  await sendOrRelease(pk, sk, () =>
    publish([
      keyEvent('ApiKeyExpiring', `${key.id}:expiring:${threshold}:${expiresAt}`, key, now.toISOString(), {
        expires_at: expiresAt,
        threshold_days: threshold,
        days_remaining: Math.ceil(remainingMs / DAY_MS),
      }),
    ]),
  );
  result.expiring.push({ key_id: key.id, threshold_days: threshold });
}

async function sendOrRelease(pk: string, sk: string, send: () => Promise<void>): Promise<void> {
  try {
    await send();
  } catch (error) {
    await releaseMarker(pk, sk);
    throw error;
  }
}

export interface RotationResult {
  readonly rotated: string[];
  readonly skipped: { key_id: string; reason: string }[];
  readonly failed: { key_id: string; reason: string }[];
}

/**
 * Rotates every key whose policy is due. The new token goes only to the key's destination; if it
 * cannot be delivered, the rotation is undone (the old secret stays current) and retried later,
 * so no key is ever left with a secret nobody holds.
 */
export async function rotateDueKeys(now: Date): Promise<RotationResult> {
  const result: RotationResult = { rotated: [], skipped: [], failed: [] };
  for (const day of days(now, ROTATION_LOOKBACK_DAYS + 1, -1).reverse()) {
    for (const key of await keysDueForRotation(day, now)) {
      // One key's failure must not keep the others from rotating.
      try {
        await rotateOne(key, now, result);
      } catch (error) {
        logger.error('Scheduled rotation failed; it will be retried', {
          key_prefix: key.key_prefix,
          error_name: (error as Error).name,
        });
        result.failed.push({ key_id: key.id, reason: (error as Error).name });
      }
    }
  }
  return result;
}

async function rotateOne(key: ApiKeyItem, now: Date, result: RotationResult): Promise<void> {
  const policy = key.rotation;
  if (!policy) return;
  const status = effectiveStatus(key, now);
  if (status !== 'active') {
    result.skipped.push({ key_id: key.id, reason: status });
    return;
  }
  let rotated: Awaited<ReturnType<typeof rotateKey>>;
  try {
    rotated = await rotateKey(
      key.id,
      policy.grace_period_seconds,
      { principal: ROTATOR_PRINCIPAL },
      () => now,
      key.version,
    );
  } catch (error) {
    // Another rotator (or an admin) changed the key first: theirs stands.
    if (!(error instanceof ConflictError)) throw error;
    result.skipped.push({ key_id: key.id, reason: 'changed_concurrently' });
    return;
  }
  try {
    await deliverToken(policy.destination, {
      key_id: key.id,
      key_prefix: key.key_prefix,
      token: rotated.key,
      rotated_at: now.toISOString(),
      previous_key_expires_at: rotated.previous_key_expires_at,
      version: rotated.version,
    });
    result.rotated.push(key.id);
  } catch (error) {
    logger.error('Rotation delivery failed; restoring the previous secret', {
      key_prefix: key.key_prefix,
      error_name: (error as Error).name,
    });
    await undoRotation(key, rotated.version, now);
    result.failed.push({ key_id: key.id, reason: 'delivery_failed' });
  }
}

/** Puts back the secret state the key had before an undeliverable rotation; retries in an hour. */
async function undoRotation(before: ApiKeyItem, versionAfterRotation: number, now: Date): Promise<void> {
  const retryAt = new Date(now.getTime() + 3600_000).toISOString();
  const restore: Parameters<typeof updateKey>[2] = {
    secret_hash: before.secret_hash,
    rotation_due_at: retryAt,
    rotation_due_day: dayOf(retryAt),
    updated_at: now.toISOString(),
    last_change: { principal: ROTATOR_PRINCIPAL, kind: 'updated', at: now.toISOString() },
  };
  const remove: (keyof ApiKeyItem)[] = [];
  if (before.previous_secret_hash && before.previous_secret_expires_at) {
    restore.previous_secret_hash = before.previous_secret_hash;
    restore.previous_secret_expires_at = before.previous_secret_expires_at;
  } else {
    remove.push('previous_secret_hash', 'previous_secret_expires_at');
  }
  if (before.rotated_at) restore.rotated_at = before.rotated_at;
  await updateKey(before.id, versionAfterRotation, restore, remove as never);
}
