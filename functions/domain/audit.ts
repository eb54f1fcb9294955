/**
 * The audit trail's pure rules (docs/audit-and-events.md): which keys-table stream records are changes an admin
 * made, the entry each one becomes, and the entries the authorizer writes itself (denials, use).
 * No AWS imports.
 *
 * Entries copy an explicit allow-list of public fields, so a secret hash, the metadata ciphertext
 * or any attribute added later can never reach the audit trail, an event or a log line by accident.
 */
import type { Actor, ApiKeyItem, ChangeKind, LastChange } from './api-key';
import type { ApiDefinition } from './api-registration';
import { type DetailType, type DomainEvent, keyEvent } from './events';
import { type FederatedUser, storedFederatedUser } from './federated-user';

export const AUDIT_EVENT_NAMES = [
  'admin.api_key_created',
  'admin.api_key_deleted',
  'admin.api_key_scope_changed',
  'admin.api_key_updated',
  'admin.api_key_rotated',
  'admin.api_key_used',
  'admin.api_key_denied',
  'admin.api_registered',
  'admin.api_updated',
  // Written by the management functions themselves (docs/tenancy.md#audit).
  'admin.access_denied',
  'admin.policy_warning',
  'root_mode.required_for_api_key',
  'root_mode.opened',
  'root_mode.closed',
  'root_mode.expired',
  'admin.organization_created',
  'admin.organization_updated',
  'admin.workspace_created',
  'admin.workspace_updated',
  'admin.binding_put',
  'admin.binding_deleted',
  'admin.policy_changed',
  'admin.api_key_denied_summary',
  'admin.source_ip_cooled_down',
  'admin.api_key_suspicious',
] as const;
export type AuditEventName = (typeof AUDIT_EVENT_NAMES)[number];

export interface FieldChange {
  readonly before: unknown;
  readonly after: unknown;
}

/** Metadata is encrypted: the trail says that it changed, never what it holds. */
export interface OpaqueChange {
  readonly changed: true;
}

export interface AuditEntry {
  readonly event_id: string;
  readonly event_name: AuditEventName;
  readonly key_id?: string;
  readonly key_prefix?: string;
  /** The registered API an entry is about (API registrations; docs/protecting-apis.md). */
  readonly api?: string;
  /** The IAM principal for admin changes; the key prefix (or `anonymous`) for denials and use. */
  readonly actor: string;
  readonly organization_id?: string;
  readonly workspace_id?: string;
  readonly source_ip?: string;
  readonly user_agent?: string;
  readonly request_id?: string;
  /** Admin actions from a console session: the user pool user behind the role (docs/console-on-aws.md). */
  readonly federated_user?: FederatedUser;
  readonly changes: Readonly<Record<string, FieldChange | OpaqueChange>>;
  readonly details: Readonly<Record<string, unknown>>;
  /** ISO-8601: when the change was made (`last_change.at`), the request was refused, or the minute began. */
  readonly timestamp: string;
}

/** A stream record with its images already unmarshalled. */
export interface StreamChange {
  readonly eventId: string;
  readonly eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  readonly oldImage?: Record<string, unknown>;
  readonly newImage?: Record<string, unknown>;
}

export type Derived =
  | { readonly skip: string }
  | { readonly entry: AuditEntry; readonly event?: DomainEvent };

/** A record the consumer can never turn into an entry: it goes to the dead-letter queue. Messages name no values. */
export class PoisonRecordError extends Error {
  override readonly name = 'PoisonRecordError';
}

/** Public attributes compared between images, with the name the API shows them under. */
const AUDITED_FIELDS: Readonly<Record<string, string>> = {
  name: 'name',
  description: 'description',
  scopes: 'scopes',
  rate_limit: 'rate_limit',
  rate_limit_window_seconds: 'rate_limit_window_seconds',
  quota: 'quota',
  ip_allowlist: 'ip_allowlist',
  expires_at: 'expires_at',
  status: 'status',
  environment: 'environment',
  key_type: 'key_type',
  organization_id: 'organization_id',
  workspace_id: 'workspace_id',
  rotation: 'rotation',
  rotated_at: 'rotated_at',
  previous_secret_expires_at: 'previous_key_expires_at',
  revoked_at: 'revoked_at',
  revoked_by: 'revoked_by',
};
const METADATA_ATTRIBUTE = 'metadata_ciphertext';

const EVENT_NAME_BY_KIND: Readonly<Record<ChangeKind, AuditEventName>> = {
  created: 'admin.api_key_created',
  updated: 'admin.api_key_updated',
  rotated: 'admin.api_key_rotated',
  revoked: 'admin.api_key_deleted',
};

const DETAIL_TYPE_BY_KIND: Partial<Record<ChangeKind, DetailType>> = {
  created: 'ApiKeyCreated',
  rotated: 'ApiKeyRotated',
  revoked: 'ApiKeyRevoked',
};

/** Order-insensitive for object keys and sets, so equal values always compare equal. */
function canonical(value: unknown): string {
  return JSON.stringify(value ?? null, (_k, v: unknown) => {
    if (v instanceof Set) return [...v].map(String).sort();
    if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)));
    }
    return v;
  });
}

/** Before/after of every audited field that differs; metadata only as `{ changed: true }`. */
function diffPublicFields(
  before: Record<string, unknown> | undefined,
  after: Record<string, unknown>,
): Record<string, FieldChange | OpaqueChange> {
  const changes: Record<string, FieldChange | OpaqueChange> = {};
  for (const [attr, shownAs] of Object.entries(AUDITED_FIELDS)) {
    const b = before?.[attr] ?? null;
    const a = after[attr] ?? null;
    if (canonical(b) !== canonical(a)) changes[shownAs] = { before: plain(b), after: plain(a) };
  }
  if (canonical(before?.[METADATA_ATTRIBUTE]) !== canonical(after[METADATA_ATTRIBUTE])) {
    changes.metadata = { changed: true };
  }
  return changes;
}

function plain(value: unknown): unknown {
  return JSON.parse(canonical(value));
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function readStamp(image: Record<string, unknown>): LastChange {
  const stamp = image.last_change as Partial<LastChange> | undefined;
  if (
    !stamp ||
    !text(stamp.principal) ||
    !text(stamp.at) ||
    !(stamp.kind && stamp.kind in EVENT_NAME_BY_KIND)
  ) {
    throw new PoisonRecordError('the new image has no valid last_change stamp');
  }
  return stamp as LastChange;
}

/**
 * The entry (and domain event) for one stream record, or why it is not an admin change.
 *
 * Only `last_change` says what kind of change a record is. A REMOVE is never one (keys are revoked,
 * not deleted; a REMOVE comes from TTL or maintenance), nor is a MODIFY that left the stamp as it was
 * (today only the rotator postponing a key whose destination refused the new token). An update that
 * changes scopes is one `admin.api_key_scope_changed` entry whose `changes` also carry any other
 * field changed in the same request: one entry per change, so N changes always give N entries.
 */
export function deriveAuditEntry(record: StreamChange): Derived {
  if (record.eventName === 'REMOVE') {
    return { skip: 'item removed (TTL or maintenance), not an admin change' };
  }
  const image = record.newImage;
  if (!image) throw new PoisonRecordError(`${record.eventName} record without a new image`);
  const id = text(image.id);
  const prefix = text(image.key_prefix);
  const organization = text(image.organization_id);
  if (!id || !prefix || !organization) {
    throw new PoisonRecordError('the new image has no id, key_prefix or organization_id');
  }
  const stamp = readStamp(image);
  const old = record.eventName === 'MODIFY' ? record.oldImage : undefined;
  if (old && canonical(old.last_change) === canonical(image.last_change)) {
    return { skip: 'last_change unchanged: not an admin change' };
  }
  const changes = diffPublicFields(old, image);
  let eventName = EVENT_NAME_BY_KIND[stamp.kind];
  const details: Record<string, unknown> = {};
  if (stamp.kind === 'updated' && 'scopes' in changes) {
    eventName = 'admin.api_key_scope_changed';
    const before = new Set((old?.scopes as string[] | undefined) ?? []);
    const after = new Set((image.scopes as string[] | undefined) ?? []);
    details.scopes_added = [...after].filter((s) => !before.has(s));
    details.scopes_removed = [...before].filter((s) => !after.has(s));
  }
  const entry: AuditEntry = {
    event_id: record.eventId,
    event_name: eventName,
    key_id: id,
    key_prefix: prefix,
    actor: stamp.principal,
    organization_id: organization,
    ...optional('workspace_id', text(image.workspace_id)),
    ...optional('source_ip', text(stamp.source_ip)),
    ...optional('user_agent', text(stamp.user_agent)),
    ...optional('request_id', text(stamp.request_id)),
    ...federated(storedFederatedUser(stamp.federated_user)),
    changes,
    details,
    timestamp: stamp.at,
  };
  const detailType = DETAIL_TYPE_BY_KIND[stamp.kind];
  if (!detailType) return { entry };
  const key = image as unknown as ApiKeyItem;
  const extra = {
    actor: stamp.principal,
    ...(stamp.kind === 'rotated'
      ? { previous_key_expires_at: text(image.previous_secret_expires_at) ?? null }
      : {}),
  };
  // The audit event id doubles as the EventBridge event id: stable per stream record, so consumers dedupe retries.
  return { entry, event: keyEvent(detailType, record.eventId, key, stamp.at, extra) };
}

function optional<K extends string>(name: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [name]: value } as Record<K, string>);
}

function federated(user: FederatedUser | undefined): { federated_user?: FederatedUser } {
  return user ? { federated_user: user } : {};
}

/** Where the authorizer refused a request, as known at that point. Never the token itself. */
export interface RefusalFacts {
  readonly eventId: string;
  readonly at: Date;
  readonly status: 401 | 403;
  readonly reason: string;
  readonly route: string;
  /** The registered API the request was for (`default` for Latchkey's own demo routes). */
  readonly api?: string;
  readonly sourceIp?: string;
  readonly userAgent?: string;
  readonly requestId?: string;
  /** From the token when it parsed, even if no such key exists. */
  readonly keyId?: string;
  readonly keyPrefix?: string;
  /** Only when the key was found: denials of a real key show in its organization's feed. */
  readonly key?: Pick<ApiKeyItem, 'organization_id' | 'workspace_id'>;
}

export function denialEntry(f: RefusalFacts): AuditEntry {
  return {
    event_id: f.eventId,
    event_name: 'admin.api_key_denied',
    ...optional('key_id', f.keyId),
    ...optional('key_prefix', f.keyPrefix),
    actor: f.keyPrefix ?? 'anonymous',
    ...optional('organization_id', f.key?.organization_id),
    ...optional('workspace_id', f.key?.workspace_id),
    ...optional('source_ip', f.sourceIp),
    ...optional('user_agent', f.userAgent),
    ...optional('request_id', f.requestId),
    changes: {},
    details: { reason: f.reason, status: f.status, route: f.route, ...optional('api', f.api) },
    timestamp: f.at.toISOString(),
  };
}

export function usedEntry(
  key: Pick<ApiKeyItem, 'id' | 'key_prefix' | 'organization_id' | 'workspace_id'>,
  windowStart: Date,
  count: number,
): AuditEntry {
  const start = windowStart.toISOString();
  return {
    // Deterministic: one entry per key and minute, whichever authorizer instance writes it.
    event_id: `used-${key.id}-${windowStart.getTime()}`,
    event_name: 'admin.api_key_used',
    key_id: key.id,
    key_prefix: key.key_prefix,
    actor: key.key_prefix,
    organization_id: key.organization_id,
    ...optional('workspace_id', key.workspace_id),
    changes: {},
    details: {
      count,
      window_start: start,
      window_end: new Date(windowStart.getTime() + 60_000).toISOString(),
    },
    timestamp: start,
  };
}

/** Fields of a registration the trail compares, as the API shows them. */
const REGISTRATION_FIELDS = [
  'owner',
  'description',
  'organization_id',
  'environment',
  'accounts',
  'scopes',
  'routes',
] as const;

/**
 * The entry for registering (`before` absent) or replacing an API registration, written in the same
 * transaction as the registration itself, so it exists exactly when the change committed.
 */
export function registrationEntry(f: {
  readonly eventId: string;
  readonly api: string;
  readonly before: ApiDefinition | undefined;
  readonly after: ApiDefinition;
  readonly actor: Actor;
  readonly at: Date;
}): AuditEntry {
  const changes: Record<string, FieldChange> = {};
  for (const field of REGISTRATION_FIELDS) {
    const b = f.before?.[field] ?? null;
    const a = f.after[field] ?? null;
    if (canonical(b) !== canonical(a)) changes[field] = { before: plain(b), after: plain(a) };
  }
  return {
    event_id: f.eventId,
    event_name: f.before ? 'admin.api_updated' : 'admin.api_registered',
    api: f.api,
    actor: f.actor.principal,
    organization_id: f.after.organization_id,
    ...optional('source_ip', f.actor.source_ip),
    ...optional('user_agent', f.actor.user_agent),
    ...optional('request_id', f.actor.request_id),
    ...federated(f.actor.federated_user),
    changes,
    details: {},
    timestamp: f.at.toISOString(),
  };
}

/**
 * An entry a management function writes itself (docs/tenancy.md#audit): a refusal, a policy
 * warning, or a change to an organization, workspace, binding, policy or root mode.
 */
export interface AdminFacts {
  readonly eventId: string;
  readonly eventName: AuditEventName;
  readonly at: Date;
  readonly actor: Pick<
    LastChange,
    'principal' | 'source_ip' | 'user_agent' | 'request_id' | 'federated_user'
  >;
  /** The organization whose feed shows it (`platform` for platform-wide events). */
  readonly organizationId: string;
  readonly workspaceId?: string | undefined;
  readonly key?: Pick<ApiKeyItem, 'id' | 'key_prefix'> | undefined;
  readonly changes?: Readonly<Record<string, FieldChange>>;
  readonly details: Readonly<Record<string, unknown>>;
}

export function adminEntry(f: AdminFacts): AuditEntry {
  return {
    event_id: f.eventId,
    event_name: f.eventName,
    ...optional('key_id', f.key?.id),
    ...optional('key_prefix', f.key?.key_prefix),
    actor: f.actor.principal,
    organization_id: f.organizationId,
    ...optional('workspace_id', f.workspaceId),
    ...optional('source_ip', f.actor.source_ip),
    ...optional('user_agent', f.actor.user_agent),
    ...optional('request_id', f.actor.request_id),
    ...federated(f.actor.federated_user),
    changes: f.changes ?? {},
    details: f.details,
    timestamp: f.at.toISOString(),
  };
}

/** One minute of refusals that identified no key, from one source IP (docs/audit-and-events.md). */
export interface RefusalSummaryFacts {
  readonly sourceIp: string;
  readonly minute: Date;
  /** `{ malformed_token: 990, wrong_secret: 10 }`, across every authorizer instance that flushed it. */
  readonly reasons: Readonly<Record<string, number>>;
  /** As the writing instance saw them: a few routes and key prefixes named, the first user agent. */
  readonly routes: readonly string[];
  readonly keyPrefixes: readonly string[];
  readonly userAgent?: string;
}

export function refusalSummaryEntry(f: RefusalSummaryFacts): AuditEntry {
  const start = f.minute.toISOString();
  const count = Object.values(f.reasons).reduce((a, b) => a + b, 0);
  return {
    // Deterministic: one summary per IP and minute, whichever authorizer instance writes it.
    event_id: `denied-summary-${f.sourceIp}-${f.minute.getTime()}`,
    event_name: 'admin.api_key_denied_summary',
    actor: 'anonymous',
    source_ip: f.sourceIp,
    ...optional('user_agent', f.userAgent),
    changes: {},
    details: {
      count,
      reasons: { ...f.reasons },
      routes: [...f.routes],
      key_prefixes: [...f.keyPrefixes],
      window_start: start,
      window_end: new Date(f.minute.getTime() + 60_000).toISOString(),
    },
    timestamp: start,
  };
}

export interface CoolDownFacts {
  readonly sourceIp: string;
  readonly at: Date;
  readonly until: Date;
  readonly invalidTokens: number;
  readonly windowSeconds: number;
  readonly userAgent?: string;
}

export function coolDownEntry(f: CoolDownFacts): AuditEntry {
  return {
    event_id: `cool-down-${f.sourceIp}-${f.at.getTime()}`,
    event_name: 'admin.source_ip_cooled_down',
    actor: 'anonymous',
    source_ip: f.sourceIp,
    ...optional('user_agent', f.userAgent),
    changes: {},
    details: {
      invalid_tokens: f.invalidTokens,
      window_seconds: f.windowSeconds,
      until: f.until.toISOString(),
    },
    timestamp: f.at.toISOString(),
  };
}

export interface SuspicionFacts {
  readonly key: Pick<ApiKeyItem, 'id' | 'key_prefix' | 'organization_id' | 'workspace_id'>;
  readonly windowStart: string;
  readonly windowEnd: string;
  readonly detectedAt: string;
  readonly distinctSourceIps: number;
  readonly sampleSourceIps: readonly string[];
}

/** The stable id of one suspicion (key and window): the audit entry's and the event's. */
export function suspicionEventId(keyId: string, windowStart: string): string {
  return `suspicious-${keyId}-${Date.parse(windowStart)}`;
}

export function suspiciousEntry(f: SuspicionFacts): AuditEntry {
  return {
    event_id: suspicionEventId(f.key.id, f.windowStart),
    event_name: 'admin.api_key_suspicious',
    key_id: f.key.id,
    key_prefix: f.key.key_prefix,
    actor: 'latchkey:traffic-monitor',
    organization_id: f.key.organization_id,
    ...optional('workspace_id', f.key.workspace_id),
    changes: {},
    details: {
      distinct_source_ips: f.distinctSourceIps,
      sample_source_ips: [...f.sampleSourceIps],
      window_start: f.windowStart,
      window_end: f.windowEnd,
    },
    timestamp: f.detectedAt,
  };
}

/**
 * The audit item's partition: per key; a registered API's changes per API; else per organization (management entries about no key);
 * else per source IP (an authorizer refusal that named no key).
 */
export function auditPartition(
  entry: Pick<AuditEntry, 'key_id' | 'api' | 'source_ip' | 'organization_id'>,
): string {
  if (entry.key_id) return `KEY#${entry.key_id}`;
  if (entry.api) return `API#${entry.api}`;
  if (entry.organization_id) return `ORG#${entry.organization_id}`;
  return `IP#${entry.source_ip ?? 'unknown'}`;
}

/** Sort key: the timestamp first, so a time range is a key condition and newest-first is the index order. */
export function auditSortKey(entry: Pick<AuditEntry, 'timestamp' | 'event_id'>): string {
  return `${entry.timestamp}#${entry.event_id}`;
}
