/**
 * Keys that age safely without anyone watching: expiry alerts once per threshold
 * (docs/audit-and-events.md), and scheduled rotation (docs/keys.md) that delivers the new token
 * only to the key's own destination (staged, then promoted, as Secrets Manager rotates). Both find
 * their keys through sparse indexes, one day-partition at a time (never a Scan), and both are safe
 * to run twice at once: alerts are claimed with a conditional put, rotations are conditional on the
 * version read.
 */
import { type ApiKeyItem, dayOf, effectiveStatus } from '../domain/api-key';
import { ConflictError, GracePeriodOpenError } from '../domain/errors';
import { keyEvent } from '../domain/events';
import { hashSecret } from '../domain/hashing';
import { formatToken, newSecret } from '../domain/token';
import { claimMarker, releaseMarker } from '../repositories/counters-repository';
import { publish } from '../repositories/event-publisher';
import { getKey, keysDueForRotation, keysExpiringOn, updateKey } from '../repositories/keys-repository';
import { type Delivery, promoteToken, stageToken, unstageToken } from '../repositories/secret-destination';
import { logger } from '../shared/logger';
import { rotateKey } from './api-keys';

const DAY_MS = 86_400_000;
/** How far back the scanner looks for keys that expired while it was not running. */
const EXPIRED_LOOKBACK_DAYS = 7;
/** How far back the rotator looks for rotations that fell due while it was not running. */
const ROTATION_LOOKBACK_DAYS = 30;
const ROTATOR_PRINCIPAL = 'latchkey:scheduled-rotation';

function days(from: Date, count: number, step: 1 | -1): string[] {
  return Array.from({ length: count }, (_, i) =>
    dayOf(new Date(from.getTime() + step * i * DAY_MS).toISOString()),
  );
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
 * Rotates every key whose policy is due, with Secrets Manager's staged rotation protocol, so a
 * destination that cannot take the token never causes a rotation at all:
 *
 * 1. generate the new secret and stage its token in the destination as `AWSPENDING`
 *    (fails: nothing was rotated; reported as failed);
 * 2. rotate the key, conditional on the version read (a racing rotator or admin wins: skipped);
 *    a key whose previous secret is still in its grace period is not rotated at all (skipped
 *    before staging, and tried again on a later run: a scheduled rotation never cuts a grace);
 * 3. promote: `AWSCURRENT` moves to the staged version, the old one becomes `AWSPREVIOUS`
 *    (fails: the rotation is undone, so the old token stays current, and retried in an hour).
 *
 * Consumers read `AWSCURRENT`, so they only ever see a token the key accepts.
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
          error_name: errorName(error),
        });
        result.failed.push({ key_id: key.id, reason: errorName(error) });
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
  // A rotation now would cut the previous secret's promised grace (an admin rotated with a long
  // one): never do that; the key stays due and a later run rotates it (docs/key-changes.md).
  if (
    key.previous_secret_hash &&
    key.previous_secret_expires_at &&
    Date.parse(key.previous_secret_expires_at) > now.getTime()
  ) {
    result.skipped.push({ key_id: key.id, reason: 'grace_period_open' });
    return;
  }
  const destination = policy.destination;
  const secret = newSecret();
  const delivery: Delivery = {
    key_id: key.id,
    key_prefix: key.key_prefix,
    token: formatToken(key.environment, key.id, secret),
    rotated_at: now.toISOString(),
    // As rotateKey computes it for the same clock.
    previous_key_expires_at:
      policy.grace_period_seconds > 0
        ? new Date(now.getTime() + policy.grace_period_seconds * 1000).toISOString()
        : null,
    version: key.version + 1,
  };

  // 1. Stage. Until the key is rotated, the staged token is worth nothing.
  let versionId: string;
  try {
    versionId = await stageToken(destination, delivery);
  } catch (error) {
    if (errorName(error) === 'ResourceExistsException') {
      // This very rotation (key, version, instant) was staged by another rotator, which goes on.
      result.skipped.push({ key_id: key.id, reason: 'changed_concurrently' });
      return;
    }
    const unwritable = isPermanentFailure(error);
    logger.error(
      unwritable
        ? 'Rotation destination cannot be written; nothing was rotated, next attempt in a day'
        : 'Rotation destination unavailable; nothing was rotated, retried on the next run',
      { key_prefix: key.key_prefix, error_name: errorName(error) },
    );
    if (unwritable) await backOff(key, now);
    result.failed.push({
      key_id: key.id,
      reason: unwritable ? 'destination_unwritable' : 'destination_unavailable',
    });
    return;
  }

  // 2. Rotate, conditional on the version read.
  let versionAfterRotation: number;
  try {
    const rotated = await rotateKey(
      key.id,
      { grace_period_seconds: policy.grace_period_seconds, end_previous_grace: false },
      { principal: ROTATOR_PRINCIPAL },
      () => now,
      key.version,
      secret,
    );
    versionAfterRotation = rotated.version;
  } catch (error) {
    // A write can land and still report an error (a timeout, then a retry that fails its condition):
    // the stored hash says whether this rotation happened. If it cannot be read, the token stays
    // staged (whether the key accepts it is unknown) and the error is reported.
    const stored = await getKey(key.id).catch(() => null);
    if (stored === null) throw error;
    if (stored?.secret_hash === hashSecret(secret)) {
      versionAfterRotation = stored.version;
    } else {
      // This token will never be valid.
      await unstage(destination, versionId, key);
      // Another rotator (or an admin) changed the key first: theirs stands.
      if (!(error instanceof ConflictError)) throw error;
      result.skipped.push({
        key_id: key.id,
        reason: error instanceof GracePeriodOpenError ? 'grace_period_open' : 'changed_concurrently',
      });
      return;
    }
  }

  // 3. Promote. The key now accepts the new token; consumers get it once AWSCURRENT moves.
  try {
    await promoteToken(destination, versionId);
  } catch (error) {
    logger.error('Rotation could not be promoted in its destination; restoring the previous secret', {
      key_prefix: key.key_prefix,
      error_name: errorName(error),
    });
    try {
      await undoRotation(key, versionAfterRotation, now);
    } catch (undoError) {
      // The key has the new secret, its destination still offers the old token as AWSCURRENT (valid
      // for the grace period) and the new one as AWSPENDING.
      logger.error('Rotation could not be promoted nor undone; the new token is staged as AWSPENDING', {
        key_prefix: key.key_prefix,
        error_name: errorName(undoError),
      });
      result.failed.push({ key_id: key.id, reason: 'promotion_failed_not_undone' });
      return;
    }
    await unstage(destination, versionId, key);
    result.failed.push({ key_id: key.id, reason: 'promotion_failed' });
    return;
  }
  result.rotated.push(key.id);
  // AWSPENDING means "staged, not current": take it off the promoted version.
  await unstage(destination, versionId, key);
}

/** Best effort: a label left behind is harmless (the next staging moves it), so never a failure. */
async function unstage(destination: string, versionId: string, key: ApiKeyItem): Promise<void> {
  try {
    await unstageToken(destination, versionId);
  } catch (error) {
    logger.warn('Could not take AWSPENDING off a rotation version', {
      key_prefix: key.key_prefix,
      error_name: errorName(error),
    });
  }
}

function errorName(error: unknown): string {
  return (error as Error | undefined)?.name ?? 'Error';
}

/**
 * Whether a destination refused the request itself (missing secret, no access, another account or
 * region, a KMS key we may not use, a secret marked for deletion): the same request will fail again.
 * Throttling, service faults and network errors are transient.
 */
function isPermanentFailure(error: unknown): boolean {
  const e = error as { $fault?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  return (
    e?.$fault === 'client' &&
    !e.$retryable &&
    e.$metadata?.httpStatusCode !== 429 &&
    !/throttl|toomanyrequests/i.test(errorName(error))
  );
}

/**
 * After a staging the destination refused, the key's next attempt moves a day out.
 *
 * Why a write at all: retrying every run without one would call Secrets Manager and raise the
 * rotator's alarm every hour (every 30 s locally) for as long as the destination stays broken, and a
 * key left due for more than ROTATION_LOOKBACK_DAYS would silently drop out of the rotator's window
 * and never be tried again. Moving `rotation_due_at` keeps the key in the window and makes the
 * retry (and the alarm) daily.
 *
 * Why it is not audited: it changes only the scheduling fields and leaves `last_change` as it was,
 * and the audit consumer records a MODIFY only when `last_change` changes (a bookkeeping write is not
 * an admin change). So it gives no audit entry and no event, unlike the rotation + undo it replaces.
 * It does bump the key's version (every write does), so an admin edit racing it gets a 409 and
 * retries.
 *
 * Transient failures are not backed off: the next run retries them.
 */
async function backOff(key: ApiKeyItem, now: Date): Promise<void> {
  const next = new Date(now.getTime() + DAY_MS).toISOString();
  try {
    await updateKey(key.id, key.version, { rotation_due_at: next, rotation_due_day: dayOf(next) });
  } catch (error) {
    // A changed key (version moved) or a failed write: the next run simply tries again.
    logger.warn('Could not postpone the rotation; the next run retries it', {
      key_prefix: key.key_prefix,
      error_name: errorName(error),
    });
  }
}

/** Puts back the secret state the key had before a rotation that could not be promoted; retries in an hour. */
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
  else remove.push('rotated_at');
  await updateKey(before.id, versionAfterRotation, restore, remove as never);
}
