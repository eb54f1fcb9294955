/**
 * Audit operations (docs/audit-and-events.md): keys-table stream records become audit entries and domain events,
 * and the management API reads the trail back. (The authorizer's own entries, refusals and use,
 * are in `access-audit.ts`, so its bundle stays free of EventBridge.) Log lines name ids and
 * prefixes only, never an image.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { type AuditEntry, deriveAuditEntry, PoisonRecordError, type StreamChange } from '../domain/audit';
import { NotFoundError } from '../domain/errors';
import { type FederatedUser, storedFederatedUser } from '../domain/federated-user';
import { isKeyId } from '../domain/token';
import {
  type AuditFilter,
  type AuditItem,
  putAuditEntry,
  queryAudit,
  queryKeyAudit,
} from '../repositories/audit-repository';
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

function toStreamChange(record: DynamoDBRecord): StreamChange {
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

/** What became of a stream record: an entry written, one found already there, or nothing to audit. */
export type ChangeOutcome = 'written' | 'duplicate' | 'skipped';

/**
 * One stream record: write its entry (a duplicate from a retried batch counts as written), then
 * publish its event. A failure throws, so the batch processor reports the record and Lambda retries
 * it; the retry finds the entry in place and publishes again (EventBridge is at least once anyway:
 * consumers dedupe on `detail.event_id`, which is the stream record's id).
 */
export async function recordChange(record: DynamoDBRecord): Promise<ChangeOutcome> {
  try {
    return await writeChange(record);
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

async function writeChange(record: DynamoDBRecord): Promise<ChangeOutcome> {
  const derived = deriveAuditEntry(toStreamChange(record));
  if ('skip' in derived) {
    logger.debug('Stream record skipped', { event_id: record.eventID, reason: derived.skip });
    return 'skipped';
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
  return outcome;
}

// ---- Reading the trail -----------------------------------------------------------------------------

export interface AuditView {
  event_id: string;
  event_name: string;
  key_id: string | null;
  key_prefix: string | null;
  api: string | null;
  actor: string;
  organization_id: string | null;
  workspace_id: string | null;
  source_ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  federated_user: FederatedUser | null;
  changes: AuditEntry['changes'];
  details: AuditEntry['details'];
  timestamp: string;
  ttl: number;
}

/** What the API returns for an entry: an explicit allow-list, without the table's keys. */
function auditView(item: AuditItem): AuditView {
  return {
    event_id: item.event_id,
    event_name: item.event_name,
    key_id: item.key_id ?? null,
    key_prefix: item.key_prefix ?? null,
    api: item.api ?? null,
    actor: item.actor,
    organization_id: item.organization_id ?? null,
    workspace_id: item.workspace_id ?? null,
    source_ip: item.source_ip ?? null,
    user_agent: item.user_agent ?? null,
    request_id: item.request_id ?? null,
    federated_user: storedFederatedUser(item.federated_user) ?? null,
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
