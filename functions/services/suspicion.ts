/**
 * Turns the authorizer's notes of keys seen from unusually many source IPs into an
 * `admin.api_key_suspicious` audit entry and an `ApiKeySuspicious` event each
 * (docs/audit-and-events.md). Scheduled every minute: the authorizer bundles no EventBridge client,
 * so it only notes (one conditional put per key and window) and this run tells.
 *
 * Safe to run twice and to retry: the entry and the event carry an id stable per key and window
 * (the put finds its own earlier write; consumers dedupe the event), and a note is marked notified
 * only after both went out.
 */
import { suspicionEventId, suspiciousEntry } from '../domain/audit';
import { keyEvent } from '../domain/events';
import type { Environment } from '../domain/token';
import { putAuditEntry } from '../repositories/audit-repository';
import {
  markSuspicionNotified,
  pendingSuspicions,
  type SuspicionNotice,
} from '../repositories/counters-repository';
import { publish } from '../repositories/event-publisher';
import { logger } from '../shared/logger';

/** Notes older than this are left to expire: the key's owner has had the window's event or never will. */
const LOOKBACK_MS = 2 * 86_400_000;

export interface NotifyResult {
  readonly notified: string[];
  readonly failed: string[];
}

function keyOf(n: SuspicionNotice) {
  return {
    id: n.key_id,
    key_prefix: n.key_prefix,
    name: n.name,
    organization_id: n.organization_id,
    ...(n.workspace_id ? { workspace_id: n.workspace_id } : {}),
    environment: n.environment as Environment,
    key_type: n.key_type as 'workspace' | 'organization' | 'system',
  };
}

export async function notifySuspiciousKeys(now: Date): Promise<NotifyResult> {
  const result: NotifyResult = { notified: [], failed: [] };
  for (const notice of await pendingSuspicions(new Date(now.getTime() - LOOKBACK_MS))) {
    const key = keyOf(notice);
    try {
      await putAuditEntry(
        suspiciousEntry({
          key,
          windowStart: notice.window_start,
          windowEnd: notice.window_end,
          detectedAt: notice.detected_at,
          distinctSourceIps: notice.distinct_source_ips,
          sampleSourceIps: notice.sample_source_ips,
        }),
      );
      await publish([
        keyEvent('ApiKeySuspicious', suspicionEventId(key.id, notice.window_start), key, notice.detected_at, {
          distinct_source_ips: notice.distinct_source_ips,
          sample_source_ips: [...notice.sample_source_ips],
          window_start: notice.window_start,
          window_end: notice.window_end,
        }),
      ]);
      await markSuspicionNotified(notice.sk, now);
      result.notified.push(key.id);
    } catch (error) {
      logger.error('Suspicious key notice failed; it will be retried', {
        key_prefix: key.key_prefix,
        error_name: (error as Error).name,
      });
      result.failed.push(key.id);
    }
  }
  return result;
}
