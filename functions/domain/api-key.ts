/**
 * The API key record (docs/keys.md) and the pure rules about it: status, what may be shown, and the
 * `last_change` stamp the audit consumer reads from the stream. No AWS imports.
 */

import type { FederatedUser } from './federated-user';
import { DEFAULT_RATE_WINDOW_SECONDS, type QuotaConfig, quotaPeriod } from './rate-limit';
import { isSystemScope } from './scopes';
import type { Environment } from './token';

export type { KeyType } from './key-type';

import type { KeyType } from './key-type';
export type StoredStatus = 'active' | 'disabled' | 'revoked';
export type KeyStatus = StoredStatus | 'expired';

/** Who made a change and from where: the IAM principal, never a secret. */
export interface Actor {
  readonly principal: string;
  readonly source_ip?: string;
  readonly user_agent?: string;
  readonly request_id?: string;
  /** The user pool user behind a console session (docs/console-on-aws.md): recorded, never authorizes. */
  readonly federated_user?: FederatedUser;
}

export type ChangeKind = 'created' | 'updated' | 'rotated' | 'revoked';

/**
 * Stamped by every change an admin or the rotator makes, so the stream-fed audit trail knows who did
 * what, since a stream image carries only the item itself. A write that leaves it as it was is not
 * audited.
 */
export interface LastChange extends Actor {
  readonly kind: ChangeKind;
  readonly at: string;
}

export interface RotationPolicy {
  readonly every_days: number;
  readonly grace_period_seconds: number;
  /** Where a scheduled rotation delivers the new token, e.g. a Secrets Manager secret ARN. */
  readonly destination: string;
}

/**
 * What creating a key takes, after validation (the management API's create schema produces it;
 * defaults already applied).
 */
export interface CreateKeyInput {
  readonly name: string;
  readonly description?: string | undefined;
  readonly scopes: readonly string[];
  readonly environment: Environment;
  /** A 4-digit-year UTC instant in `toISOString()` form. */
  readonly expires_at?: string | undefined;
  readonly expires_in_days?: number | undefined;
  readonly rate_limit?: number | undefined;
  /** Length of the rate limit's window; only with `rate_limit`. */
  readonly rate_limit_window_seconds?: number | undefined;
  /** Quota: requests the key may make (until the first refill, with one). */
  readonly remaining?: number | undefined;
  /** Refill: `refill_amount` requests every `refill_interval` seconds; both or neither. */
  readonly refill_amount?: number | undefined;
  readonly refill_interval?: number | undefined;
  readonly ip_allowlist?: readonly string[] | undefined;
  readonly organization_id: string;
  readonly workspace_id?: string | undefined;
  readonly key_type: KeyType;
  readonly metadata?: Readonly<Record<string, unknown>> | undefined;
  readonly rotation?: RotationPolicy | undefined;
}

/** A change to a key: absent fields stay as they are, `null` clears. */
export interface UpdateKeyInput {
  readonly name?: string | undefined;
  readonly description?: string | null | undefined;
  readonly scopes?: readonly string[] | undefined;
  readonly rate_limit?: number | null | undefined;
  readonly rate_limit_window_seconds?: number | null | undefined;
  /** Sets the quota anew from now (a fresh count); `null` removes the quota and its refill. */
  readonly remaining?: number | null | undefined;
  readonly refill_amount?: number | null | undefined;
  /** Seconds; changing it needs `remaining` in the same change (it moves the refill schedule). */
  readonly refill_interval?: number | null | undefined;
  readonly ip_allowlist?: readonly string[] | null | undefined;
  readonly expires_at?: string | null | undefined;
  readonly enabled?: boolean | undefined;
  readonly metadata?: Readonly<Record<string, unknown>> | null | undefined;
  readonly rotation?: RotationPolicy | null | undefined;
}

/** A rotation (docs/key-changes.md). */
export interface RotateKeyInput {
  /** How long the replaced secret keeps working; 0: it stops at once. */
  readonly grace_period_seconds: number;
  /**
   * Rotate even though the previous secret's grace period is still open, ending it now. Without it
   * such a rotation is refused (409 `grace_period_open`).
   */
  readonly end_previous_grace?: boolean | undefined;
}

/** The stored item. Hash fields never leave the repository layer in a response, event or log. */
export interface ApiKeyItem {
  id: string;
  kind: 'api_key';
  name: string;
  description?: string;
  key_prefix: string;
  environment: Environment;
  key_type: KeyType;
  organization_id: string;
  workspace_id?: string;
  scopes: string[];
  /** Requests per `rate_limit_window_seconds` (default 60), enforced by the authorizer. */
  rate_limit?: number;
  rate_limit_window_seconds?: number;
  /** The quota and its refill; what is left lives in the counters table (functions/domain/rate-limit.ts). */
  quota?: QuotaConfig;
  ip_allowlist?: string[];
  expires_at?: string;
  /** `YYYY-MM-DD` of `expires_at`: partition of the sparse expiry index. */
  expires_day?: string;
  status: StoredStatus;
  created_by: string;
  created_at: string;
  created_sort: string;
  updated_at: string;
  /**
   * Never written: last use lives in the counters table, so use never feeds the keys table's stream
   * (`LiveState` below).
   */
  last_used_at?: string;
  revoked_at?: string;
  revoked_by?: string;
  secret_hash: string;
  previous_secret_hash?: string;
  previous_secret_expires_at?: string;
  rotated_at?: string;
  rotation?: RotationPolicy;
  rotation_due_at?: string;
  rotation_due_day?: string;
  /** KMS ciphertext of the metadata JSON, encryption context `{ key_id, organization_id, purpose }`. */
  metadata_ciphertext?: Uint8Array;
  version: number;
  last_change: LastChange;
}

/** The status a caller sees: `expired` is derived from `expires_at`, `revoked` is final. */
export function effectiveStatus(item: Pick<ApiKeyItem, 'status' | 'expires_at'>, now: Date): KeyStatus {
  if (item.status === 'revoked') return 'revoked';
  if (item.expires_at && Date.parse(item.expires_at) <= now.getTime()) return 'expired';
  return item.status;
}

/** What the API returns for a key. An explicit allow-list: hashes and ciphertext are never copied. */
export interface PublicApiKey {
  id: string;
  name: string;
  description: string | null;
  key_prefix: string;
  environment: Environment;
  key_type: KeyType;
  organization_id: string;
  workspace_id: string | null;
  scopes: string[];
  rate_limit: number | null;
  rate_limit_window_seconds: number | null;
  /** What the quota admits now (this refill period), `null` without a quota. */
  remaining: number | null;
  refill_amount: number | null;
  /** Seconds. */
  refill_interval: number | null;
  ip_allowlist: string[];
  expires_at: string | null;
  status: KeyStatus;
  created_by: string;
  created_at: string;
  updated_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
  revoked_by: string | null;
  rotated_at: string | null;
  previous_key_expires_at: string | null;
  rotation: RotationPolicy | null;
  /** Changing this key needs root mode: a system key, or one holding a `system:*` scope (docs/tenancy.md). */
  requires_root_mode: boolean;
  metadata?: unknown;
}

/** System keys and `system:*` scopes are changed only inside root mode (docs/tenancy.md#root-mode). */
export function requiresRootMode(key: Pick<ApiKeyItem, 'key_type' | 'scopes'>): boolean {
  return key.key_type === 'system' || key.scopes.some(isSystemScope);
}

/**
 * A key's use as the counters table holds it: its last use (to the minute) and the count of the
 * quota period it last counted in. Absent parts: never used, nothing counted yet.
 */
export interface LiveState {
  readonly last_used_at?: string;
  readonly quota?: { readonly period: string; readonly used: number };
}

/** What the key's quota admits at `now`, given what its current period has counted. */
export function quotaRemaining(item: Pick<ApiKeyItem, 'quota'>, now: Date, live: LiveState): number | null {
  const period = quotaPeriod(item, now);
  if (!period) return null;
  const used = live.quota?.period === period.id ? live.quota.used : 0;
  return Math.max(0, period.allowance - used);
}

export function toPublic(
  item: ApiKeyItem,
  now: Date,
  metadata?: unknown,
  live: LiveState = {},
): PublicApiKey {
  const view: PublicApiKey = {
    id: item.id,
    name: item.name,
    description: item.description ?? null,
    key_prefix: item.key_prefix,
    environment: item.environment,
    key_type: item.key_type,
    organization_id: item.organization_id,
    workspace_id: item.workspace_id ?? null,
    scopes: [...item.scopes],
    rate_limit: item.rate_limit ?? null,
    rate_limit_window_seconds:
      item.rate_limit === undefined ? null : (item.rate_limit_window_seconds ?? DEFAULT_RATE_WINDOW_SECONDS),
    remaining: quotaRemaining(item, now, live),
    refill_amount: item.quota?.refill_amount ?? null,
    refill_interval: item.quota?.refill_interval_seconds ?? null,
    ip_allowlist: [...(item.ip_allowlist ?? [])],
    expires_at: item.expires_at ?? null,
    status: effectiveStatus(item, now),
    created_by: item.created_by,
    created_at: item.created_at,
    updated_at: item.updated_at,
    last_used_at: live.last_used_at ?? null,
    revoked_at: item.revoked_at ?? null,
    revoked_by: item.revoked_by ?? null,
    rotated_at: item.rotated_at ?? null,
    previous_key_expires_at: item.previous_secret_expires_at ?? null,
    rotation: item.rotation ?? null,
    requires_root_mode: requiresRootMode(item),
  };
  if (metadata !== undefined) view.metadata = metadata;
  return view;
}

export function dayOf(iso: string): string {
  return iso.slice(0, 10);
}
