/**
 * Audit operations (SPEC §7): keys-table stream records become audit entries and domain events;
 * the authorizer records its refusals and, at most once per key per minute, a key's use; the
 * management API reads the trail back. Log lines name ids and prefixes only, never an image.
 */
import { randomUUID } from 'node:crypto';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { APIGatewayRequestAuthorizerEvent, DynamoDBRecord } from 'aws-lambda';
import type { ApiKeyItem } from '../domain/api-key';
import {
  type AuditEntry,
  denialEntry,
  deriveAuditEntry,
  PoisonRecordError,
  type StreamChange,
  usedEntry,
} from '../domain/audit';
import { NotFoundError } from '../domain/errors';
import { isKeyId, type ParsedToken } from '../domain/token';
import {
  type AuditFilter,
  type AuditItem,
  addAllowedCount,
  putAuditEntry,
  queryAudit,
  queryKeyAudit,
  usedMarkerKey,
} from '../repositories/audit-repository';
import { claimMarker, MINUTE_MS } from '../repositories/counters-repository';
import { publish } from '../repositories/event-publisher';
import { getKey } from '../repositories/keys-repository';
import { logger } from '../shared/logger';
import { decodeNextToken, encodeNextToken } from '../shared/pagination';

// ---- Stream → audit entries and events -----------------------------------------------------------

function image(
  raw: NonNullable<DynamoDBRecord['dynamodb']>['NewImage'],
): Record<string, unknown> | undefined {
  return raw ? unmarshall(raw as Record<string, AttributeValue>) : undefined;
}

export function toStreamChange(record: DynamoDBRecord): StreamChange {
  const { eventID, eventName } = record;
  if (!eventID || !eventName) throw new PoisonRecordError('stream record without eventID or eventName');
  try {
    return {
      eventId: eventID,
      eventName,
      oldImage: image(record.dynamodb?.OldImage),
      newImage: image(record.dynamodb?.NewImage),
    };
  } catch {
    // The unmarshaller's own message may quote attribute values: never pass it on.
    throw new PoisonRecordError(`stream record ${eventID} has an image that does not unmarshall`);
  }
}

/**
 * One stream record: write its entry (a duplicate from a retried batch counts as written), then
 * publish its event. A failure throws, so the batch processor reports the record and Lambda retries
 * it; the retry finds the entry in place and publishes again (EventBridge is at least once anyway:
 * consumers dedupe on `detail.event_id`, which is the stream record's id).
 */
export async function recordChange(record: DynamoDBRecord): Promise<void> {
  try {
    await writeChange(record);
  } catch (error) {
    // Our own errors and the SDK's name no attribute values; the image itself is never logged.
    logger.error('Stream record failed', {
      event_id: record.eventID,
      sequence_number: record.dynamodb?.SequenceNumber,
      error_name: (error as Error).name,
      error_message: (error as Error).message,
    });
    throw error;
  }
}

async function writeChange(record: DynamoDBRecord): Promise<void> {
  const derived = deriveAuditEntry(toStreamChange(record));
  if ('skip' in derived) {
    logger.debug('Stream record skipped', { event_id: record.eventID, reason: derived.skip });
    return;
  }
  const { entry, event } = derived;
  const outcome = await putAuditEntry(entry);
  if (event) await publish([event]);
  logger.info('Audit entry recorded', {
    event_id: entry.event_id,
    event_name: entry.event_name,
    key_prefix: entry.key_prefix,
    outcome,
    ...(event ? { published: event.detailType } : {}),
  });
}

// ---- Authorizer: refusals --------------------------------------------------------------------------

export interface Refusal {
  readonly status: 401 | 403;
  readonly reason: string;
  readonly token?: Pick<ParsedToken, 'id' | 'prefix'> | undefined;
  readonly key?: Pick<ApiKeyItem, 'organization_id' | 'workspace_id'> | undefined;
}

function headerOf(event: APIGatewayRequestAuthorizerEvent, name: string): string | undefined {
  for (const [k, v] of Object.entries(event.headers ?? {})) if (k.toLowerCase() === name && v) return v;
  return undefined;
}

/**
 * Every refusal becomes an `admin.api_key_denied` entry. Never throws: the answer to the caller
 * does not depend on the audit write (fail closed is about reading keys, not about writing audit).
 */
export async function recordDenial(
  event: APIGatewayRequestAuthorizerEvent,
  refusal: Refusal,
  now: Date,
): Promise<void> {
  try {
    const identity = event.requestContext?.identity;
    await putAuditEntry(
      denialEntry({
        eventId: randomUUID(),
        at: now,
        status: refusal.status,
        reason: refusal.reason,
        route: `${event.httpMethod} ${event.resource}`,
        sourceIp: identity?.sourceIp || undefined,
        userAgent: (headerOf(event, 'user-agent') ?? identity?.userAgent ?? undefined)?.slice(0, 512),
        requestId: event.requestContext?.requestId || undefined,
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

// ---- Reading the trail -----------------------------------------------------------------------------

export interface AuditView {
  event_id: string;
  event_name: string;
  key_id: string | null;
  key_prefix: string | null;
  actor: string;
  organization_id: string | null;
  workspace_id: string | null;
  source_ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  changes: AuditEntry['changes'];
  details: AuditEntry['details'];
  timestamp: string;
  ttl: number;
}

/** What the API returns for an entry: an explicit allow-list, without the table's keys. */
export function auditView(item: AuditItem): AuditView {
  return {
    event_id: item.event_id,
    event_name: item.event_name,
    key_id: item.key_id ?? null,
    key_prefix: item.key_prefix ?? null,
    actor: item.actor,
    organization_id: item.organization_id ?? null,
    workspace_id: item.workspace_id ?? null,
    source_ip: item.source_ip ?? null,
    user_agent: item.user_agent ?? null,
    request_id: item.request_id ?? null,
    changes: item.changes ?? {},
    details: item.details ?? {},
    timestamp: item.timestamp,
    ttl: Number(item.ttl),
  };
}

export interface AuditListing {
  readonly items: AuditView[];
  readonly next_token: string | null;
}

/** A key's history, newest first; 404 when no such key exists. */
export async function keyAudit(id: string, limit: number, nextToken?: string): Promise<AuditListing> {
  if (!isKeyId(id) || !(await getKey(id))) {
    throw new NotFoundError(`No API key with id ${JSON.stringify(id)}.`);
  }
  const page = await queryKeyAudit(id, limit, decodeNextToken(nextToken));
  return { items: page.items.map(auditView), next_token: encodeNextToken(page.lastKey) };
}

export async function organizationAudit(
  filter: AuditFilter,
  limit: number,
  nextToken?: string,
): Promise<AuditListing> {
  const page = await queryAudit(filter, limit, decodeNextToken(nextToken));
  return { items: page.items.map(auditView), next_token: encodeNextToken(page.lastKey) };
}
