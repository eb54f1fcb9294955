/**
 * What the signed-in principal is (`GET /v1/me`) and which controls its role can ever use, per the
 * role matrix of docs/tenancy.md. Hiding a control is a convenience: the API stays the gate
 * (docs/console.md#roles). The matrix itself is functions/domain/access.ts, which the browser bundle
 * cannot type-check against (it reaches node:crypto); test/unit/console-roles.test.ts checks this
 * copy agrees with it for every role.
 */
import type { ApiKey, RootModeState } from './api';

export type Role = 'member' | 'auditor' | 'workspace_admin' | 'org_owner' | 'super_admin';

export interface MyBinding {
  readonly role: Role;
  /** `null` for `super_admin` (every organization). */
  readonly organization_id: string | null;
  readonly workspace_ids: readonly string[];
  readonly root_allowed: boolean;
}

/** `GET /v1/me`. */
export interface Me {
  readonly principal: string;
  readonly bindings: readonly MyBinding[];
  readonly root_mode: RootModeState;
}

export const ROLE_LABELS: Readonly<Record<Role, string>> = {
  member: 'member',
  auditor: 'auditor',
  workspace_admin: 'workspace admin',
  org_owner: 'org owner',
  super_admin: 'super admin',
};

const RANK: readonly Role[] = ['member', 'auditor', 'workspace_admin', 'org_owner', 'super_admin'];

/** A key as far as the matrix cares. */
export type KeyTarget = Pick<ApiKey, 'organization_id' | 'workspace_id' | 'key_type' | 'requires_root_mode'>;

export interface Permissions {
  /** The caller's highest role concerning the organization (a super admin's everywhere); null: unknown. */
  readonly role: Role | null;
  /** Key types it may create here (workspace keys: in the workspaces `mayCreateIn` allows). */
  readonly createTypes: readonly ('workspace' | 'organization')[];
  readonly mayCreateIn: (workspaceId: string) => boolean;
  /** Change, rotate, revoke, enable/disable: one verdict in the matrix. */
  readonly mayChange: (key: KeyTarget) => boolean;
  readonly mayPutPolicy: boolean;
}

/** Unknown caller (`/v1/me` failed): offer everything and let the API refuse. */
const EVERYTHING: Permissions = {
  role: null,
  createTypes: ['workspace', 'organization'],
  mayCreateIn: () => true,
  mayChange: () => true,
  mayPutPolicy: true,
};

export function permissionsIn(me: Me | null, organizationId: string): Permissions {
  if (!me) return EVERYTHING;
  // Root mode is needed for system keys: usable when open, or when this caller may open it.
  const root = me.root_mode.open || me.root_mode.root_allowed;
  const bindings = me.bindings;
  const mayChange = (key: KeyTarget) =>
    bindings.some((b) => {
      if (b.role === 'super_admin') return !key.requires_root_mode || root;
      if (b.organization_id !== key.organization_id || key.requires_root_mode) return false;
      if (b.role === 'org_owner') return true;
      return (
        b.role === 'workspace_admin' &&
        key.key_type === 'workspace' &&
        key.workspace_id !== null &&
        b.workspace_ids.includes(key.workspace_id)
      );
    });
  const target = (key_type: 'workspace' | 'organization', workspace_id: string | null): KeyTarget => ({
    organization_id: organizationId,
    workspace_id,
    key_type,
    requires_root_mode: false,
  });
  const mayCreateIn = (workspaceId: string) => mayChange(target('workspace', workspaceId));
  const ownWorkspaces = bindings.flatMap((b) =>
    b.organization_id === organizationId ? b.workspace_ids : [],
  );
  const owner = bindings.some(
    (b) => b.role === 'super_admin' || (b.role === 'org_owner' && b.organization_id === organizationId),
  );
  let role: Role | null = null;
  for (const b of bindings) {
    if (b.role !== 'super_admin' && b.organization_id !== organizationId) continue;
    if (role === null || RANK.indexOf(b.role) > RANK.indexOf(role)) role = b.role;
  }
  return {
    role,
    createTypes: [
      ...(owner || ownWorkspaces.some(mayCreateIn) ? (['workspace'] as const) : []),
      ...(mayChange(target('organization', null)) ? (['organization'] as const) : []),
    ],
    mayCreateIn,
    mayChange,
    mayPutPolicy: owner,
  };
}
