/**
 * Organizations, workspaces, organization policies and root-mode elevations as records
 * (docs/tenancy.md), and the pure rules about them. No AWS imports.
 */
import type { Binding } from './access';
import type { BuiltInPolicies, PolicyRule } from './policy';

export const TENANT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** Created on first deploy and first local start (docs/tenancy.md#seeding), with its `default` workspace. */
export const DEFAULT_ORGANIZATION = 'default';
/** Every organization gets a workspace of this id when it is created. */
export const DEFAULT_WORKSPACE = 'default';
/** The longest root-mode elevation. */
export const MAX_ELEVATION_MINUTES = 15;

export type TenantStatus = 'active' | 'archived';

export interface Organization {
  readonly organization_id: string;
  readonly name: string;
  readonly status: TenantStatus;
  /** Per-organization `apiKeys.enabled`: false makes this organization's key and audit routes answer 503. */
  readonly api_keys_enabled: boolean;
  readonly created_at: string;
  readonly created_by: string;
  readonly updated_at: string;
  readonly updated_by: string;
  readonly version: number;
}

export interface Workspace {
  readonly organization_id: string;
  readonly workspace_id: string;
  readonly name: string;
  readonly status: TenantStatus;
  readonly created_at: string;
  readonly created_by: string;
  readonly updated_at: string;
  readonly updated_by: string;
  readonly version: number;
}

/** An organization's own policy: switchable built-ins and its rules (evaluated after deploy rules). */
export interface OrganizationPolicy {
  readonly organization_id: string;
  readonly built_in: BuiltInPolicies;
  readonly rules: readonly PolicyRule[];
  /** 0 until first written. */
  readonly version: number;
  readonly updated_at: string | null;
  readonly updated_by: string | null;
}

export interface StoredBinding extends Binding {
  readonly created_at: string;
  readonly created_by: string;
  readonly updated_at: string;
  readonly updated_by: string;
}

/** One principal's root-mode elevation (its last one, open or not). */
export interface Elevation {
  /** The exact caller ARN that opened it (a session, not its role: other sessions are not elevated). */
  readonly principal: string;
  readonly opened_at: string;
  readonly expires_at: string;
  readonly reason: string;
  readonly closed_at?: string;
  readonly closed_reason?: 'closed' | 'expired';
}

export function elevationOpen(e: Elevation | undefined, now: Date): boolean {
  return e !== undefined && e.closed_at === undefined && Date.parse(e.expires_at) > now.getTime();
}

/** Ended by its time box but not yet recorded as such (the expiry is audited when next seen). */
export function elevationLapsed(e: Elevation | undefined, now: Date): e is Elevation {
  return e !== undefined && e.closed_at === undefined && Date.parse(e.expires_at) <= now.getTime();
}

/** A binding's id in the API: its principal and organization, base64url (one binding per pair). */
export function bindingId(principal: string, organizationId: string | null): string {
  return Buffer.from(`${principal}|${organizationId ?? '*'}`, 'utf8').toString('base64url');
}

export function parseBindingId(
  id: string,
): { principal: string; organization_id: string | null } | undefined {
  if (!/^[A-Za-z0-9_-]{1,1400}$/.test(id)) return undefined;
  const text = Buffer.from(id, 'base64url').toString('utf8');
  const at = text.lastIndexOf('|');
  if (at <= 0) return undefined;
  const org = text.slice(at + 1);
  return { principal: text.slice(0, at), organization_id: org === '*' ? null : org };
}
