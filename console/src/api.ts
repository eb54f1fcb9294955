/**
 * The management API as the console uses it (docs/management-api.md, docs/tenancy.md,
 * docs/analytics.md): the shapes it reads, and one `ManagementApi` signing with the session's
 * credentials. Only fields the console shows are typed.
 */
import { errorFromResponse, ManagementApi, ManagementApiError } from '../../sdk/management';

export { errorFromResponse, ManagementApi, ManagementApiError };

export const ENVIRONMENTS = ['production', 'staging', 'sandbox', 'development'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];
export const STATUSES = ['active', 'disabled', 'expired', 'revoked'] as const;
export type KeyStatus = (typeof STATUSES)[number];
export const PERMISSIONS = ['read', 'write', 'execute', 'admin'] as const;

export interface PolicyWarning {
  readonly rule_id: string;
  readonly source: string;
  readonly message: string;
}

export interface ApiKey {
  readonly id: string;
  readonly name: string;
  readonly description: string | null;
  readonly key_prefix: string;
  readonly environment: Environment;
  readonly key_type: 'workspace' | 'organization' | 'system';
  readonly organization_id: string;
  readonly workspace_id: string | null;
  readonly scopes: readonly string[];
  readonly rate_limit: number | null;
  readonly remaining: number | null;
  readonly ip_allowlist: readonly string[];
  readonly expires_at: string | null;
  readonly status: KeyStatus;
  readonly created_by: string;
  readonly created_at: string;
  readonly updated_at: string;
  readonly last_used_at: string | null;
  readonly revoked_at: string | null;
  readonly revoked_by: string | null;
  readonly rotated_at: string | null;
  readonly previous_key_expires_at: string | null;
  readonly requires_root_mode: boolean;
  readonly policy_warnings?: readonly PolicyWarning[];
}

/** Create and rotate answers: the record plus the token, shown once. */
export interface IssuedKey extends ApiKey {
  readonly key: string;
}

export interface Page<T> {
  readonly items: readonly T[];
  readonly next_token: string | null;
}

export interface CatalogScope {
  readonly scope: string;
  readonly module: string;
  readonly permission: string;
  readonly description: string;
  readonly risk_level: 'low' | 'medium' | 'high' | 'critical';
}

export interface ScopeCatalog {
  readonly items: readonly CatalogScope[];
  readonly permissions: readonly string[];
}

export interface StatusCounts {
  readonly total: number;
  readonly active: number;
  readonly disabled: number;
  readonly expired: number;
  readonly revoked: number;
}

export interface Overview {
  readonly organization_id: string | null;
  readonly generated_at: string;
  readonly keys: StatusCounts;
  readonly by_environment: Readonly<Record<string, StatusCounts>>;
  readonly by_module: readonly {
    readonly module: string;
    readonly key_count: number;
    readonly risk_level: string | null;
    readonly last_used_at: string | null;
    readonly scopes: readonly { scope: string; key_count: number; risk_level: string }[];
  }[];
  readonly most_used_keys: {
    readonly day: string;
    readonly items: readonly {
      key_id: string;
      key_prefix: string;
      name: string;
      status: string;
      allowed: number;
    }[];
  };
  readonly failed_authentications: {
    readonly from: string;
    readonly to: string;
    readonly total: number;
    readonly by_reason: Readonly<Record<string, number>>;
  };
  readonly denied_requests: {
    readonly total: number;
    readonly by_reason: Readonly<Record<string, number>>;
  };
}

export interface UsageBucket {
  readonly start: string;
  readonly allowed: number;
  readonly denied: number;
}

export interface Usage {
  readonly key_id: string;
  readonly window_start: string;
  readonly window_seconds: number;
  readonly request_count: number;
  readonly rate_limit: number | null;
  readonly remaining: number | null;
  readonly last_used_at: string | null;
  readonly totals: { readonly since: string | null; readonly allowed: number; readonly denied: number };
  readonly series: { readonly minutes: readonly UsageBucket[]; readonly hours: readonly UsageBucket[] };
}

export interface AuditEntry {
  readonly event_id: string;
  readonly event_name: string;
  readonly key_id: string | null;
  readonly key_prefix: string | null;
  readonly actor: string | null;
  /** The user pool user behind a console session (docs/console-on-aws.md); null for other callers. */
  readonly federated_user?: { readonly user_pool_id: string; readonly sub: string } | null;
  readonly source_ip: string | null;
  readonly timestamp: string;
  readonly details: Readonly<Record<string, unknown>> | null;
}

export interface Organization {
  readonly organization_id: string;
  readonly name: string;
  readonly status: 'active' | 'archived';
  readonly api_keys_enabled: boolean;
}

export interface Workspace {
  readonly workspace_id: string;
  readonly name: string;
  readonly status: string;
}

export interface RootModeState {
  readonly principal: string;
  readonly open: boolean;
  readonly root_allowed: boolean;
  readonly expires_at: string | null;
  readonly remaining_seconds: number | null;
  readonly reason: string | null;
}

export interface OrganizationPolicy {
  readonly organization_id: string;
  readonly built_in: {
    readonly production_expiry: { readonly enabled: boolean; readonly max_days: number };
    readonly execute_requires_elevation: { readonly enabled: boolean };
    readonly revoked_keys_final?: { readonly enabled: boolean };
    readonly rotation_history?: { readonly enabled: boolean };
  };
  readonly rules: readonly unknown[];
  readonly deploy_rules: readonly unknown[];
  readonly version: number;
  readonly updated_at: string | null;
  readonly updated_by: string | null;
  readonly policy_warnings?: readonly PolicyWarning[];
}

/** A refusal in words an admin can act on: the API's message and each field it named. */
export function describeError(error: unknown): string {
  if (error instanceof ManagementApiError) {
    const fields = error.details.map((d) => `${d.field}: ${d.message}`).join('; ');
    return `${error.message}${fields && !error.message.includes(fields) ? ` (${fields})` : ''} [${error.code}]`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** `503 service_disabled`: the module is switched off for the organization (docs/tenancy.md). */
export const isModuleDisabled = (error: unknown): boolean =>
  error instanceof ManagementApiError && error.status === 503 && error.code === 'service_disabled';
