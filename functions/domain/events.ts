/**
 * Domain events on the `latchkey` bus (docs/audit-and-events.md), source `latchkey`. Details carry ids, prefixes and
 * facts, never a token, secret or hash. `event_id` is stable per change: EventBridge delivers at
 * least once, so consumers dedupe on it.
 */
import type { ApiKeyItem } from './api-key';

export const EVENT_SOURCE = 'latchkey';

export type DetailType =
  | 'ApiKeyCreated'
  | 'ApiKeyRotated'
  | 'ApiKeyRevoked'
  | 'ApiKeyExpiring'
  | 'ApiKeyExpired'
  | 'ApiKeySuspicious';

export interface KeyEventDetail {
  readonly event_id: string;
  readonly key_id: string;
  readonly key_prefix: string;
  readonly name: string;
  readonly organization_id: string;
  readonly workspace_id: string | null;
  readonly environment: string;
  readonly key_type: string;
  readonly occurred_at: string;
  readonly [extra: string]: unknown;
}

export interface DomainEvent {
  readonly detailType: DetailType;
  readonly detail: KeyEventDetail;
}

export function keyEvent(
  detailType: DetailType,
  eventId: string,
  key: Pick<
    ApiKeyItem,
    'id' | 'key_prefix' | 'name' | 'organization_id' | 'workspace_id' | 'environment' | 'key_type'
  >,
  occurredAt: string,
  extra: Record<string, unknown> = {},
): DomainEvent {
  return {
    detailType,
    detail: {
      event_id: eventId,
      key_id: key.id,
      key_prefix: key.key_prefix,
      name: key.name,
      organization_id: key.organization_id,
      workspace_id: key.workspace_id ?? null,
      environment: key.environment,
      key_type: key.key_type,
      occurred_at: occurredAt,
      ...extra,
    },
  };
}
