/**
 * The authorizer's audit entries (docs/audit-and-events.md): every refusal, and at most once per key per minute a
 * key's use with its count. Kept apart from the stream consumer's code so the authorizer bundle
 * loads only DynamoDB. Never throws: the answer to the caller does not depend on the audit write.
 */
import { randomUUID } from 'node:crypto';
import type { ApiKeyItem } from '../domain/api-key';
import { denialEntry, usedEntry } from '../domain/audit';
import type { ParsedToken } from '../domain/token';
import { putAuditEntry } from '../repositories/audit-repository';
import { addAllowedCount, claimMarker, MINUTE_MS, usedMarkerKey } from '../repositories/counters-repository';
import { logger } from '../shared/logger';

// ---- Authorizer: refusals --------------------------------------------------------------------------

/** Where a refused request came from, whichever front door saw it (REST, HTTP API, verify). */
export interface RequestOrigin {
  /** `"<METHOD> <route>"`, or `scope <scope>` for a verify that asked about a scope. */
  readonly route: string;
  /** The registered API the request was for. */
  readonly api: string;
  readonly sourceIp?: string | undefined;
  readonly userAgent?: string | undefined;
  readonly requestId?: string | undefined;
}

export interface Refusal {
  readonly status: 401 | 403;
  readonly reason: string;
  readonly token?: Pick<ParsedToken, 'id' | 'prefix'> | undefined;
  readonly key?: Pick<ApiKeyItem, 'organization_id' | 'workspace_id'> | undefined;
}

/**
 * Every refusal becomes an `admin.api_key_denied` entry. Never throws: the answer to the caller
 * does not depend on the audit write (fail closed is about reading keys, not about writing audit).
 */
export async function recordDenial(origin: RequestOrigin, refusal: Refusal, now: Date): Promise<void> {
  try {
    await putAuditEntry(
      denialEntry({
        eventId: randomUUID(),
        at: now,
        status: refusal.status,
        reason: refusal.reason,
        route: origin.route,
        api: origin.api,
        sourceIp: origin.sourceIp || undefined,
        userAgent: origin.userAgent?.slice(0, 512),
        requestId: origin.requestId || undefined,
        keyId: refusal.token?.id,
        keyPrefix: refusal.token?.prefix,
        key: refusal.key,
      }),
    );
  } catch (error) {
    logger.error('Could not record a denial', {
      reason: refusal.reason,
      key_prefix: refusal.token?.prefix,
      error_name: (error as Error).name,
    });
  }
}

// ---- Authorizer: once-per-minute use ---------------------------------------------------------------

type UsedKey = Pick<ApiKeyItem, 'id' | 'key_prefix' | 'organization_id' | 'workspace_id'>;
interface MinuteCount {
  readonly key: UsedKey;
  readonly windowStart: number;
  count: number;
}

/** At most this many finished minute counts are written per invocation, so no request waits on many. */
const FLUSH_PER_INVOCATION = 25;
// Per execution environment: the current minute's counts, and finished minutes not yet written.
let currentMinute = Number.NEGATIVE_INFINITY;
let counts = new Map<string, MinuteCount>();
const finished: MinuteCount[] = [];

/**
 * Counts an allowed request in memory: no write per request. The first request this environment
 * serves in a later minute writes the finished minute's counts (awaited, so the Lambda freeze after
 * the response cannot strand them): each instance ADDs its count to the minute's counter item, and
 * the one that claims the `USED#<minute>` marker writes the single `admin.api_key_used` entry with
 * the total counted so far. Never throws.
 */
export async function recordUse(key: UsedKey, now: Date): Promise<void> {
  const minute = Math.floor(now.getTime() / MINUTE_MS) * MINUTE_MS;
  if (minute > currentMinute) {
    finished.push(...counts.values());
    counts = new Map();
    currentMinute = minute;
  }
  const slot = counts.get(key.id);
  if (slot) slot.count++;
  else counts.set(key.id, { key, windowStart: minute, count: 1 });
  if (finished.length) await Promise.all(finished.splice(0, FLUSH_PER_INVOCATION).map(flushMinute));
}

async function flushMinute({ key, windowStart, count }: MinuteCount): Promise<void> {
  const start = new Date(windowStart);
  try {
    const total = await addAllowedCount(key.id, start, count);
    const marker = usedMarkerKey(key.id, start);
    if (await claimMarker(marker.pk, marker.sk, marker.expiresAt)) {
      await putAuditEntry(usedEntry(key, start, total));
    }
  } catch (error) {
    // Telemetry, not a change: losing one minute's entry must not fail a request.
    logger.warn('Could not record key use', {
      key_prefix: key.key_prefix,
      error_name: (error as Error).name,
    });
  }
}
