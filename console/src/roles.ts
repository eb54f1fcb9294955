/**
 * What the signed-in principal is (`GET /v1/me`) and which controls its role can ever use: the
 * API's own role matrix (functions/domain/access.ts, pure, bundled into the console) asked about
 * the caller's bindings. Hiding a control is a convenience: the API stays the gate
 * (docs/console.md#roles).
 */
import {
  type Action,
  type Binding,
  decideRole,
  type Role,
  roleIn,
  type Target,
} from '../../functions/domain/access';
import type { ApiKey, RootModeState } from './api';

export type { Role };

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
  const bindings: Binding[] = me.bindings.map((b) => ({ ...b, principal: me.principal }));
  // "Ever": allowed now, or allowed once the caller opens the root mode it may open.
  const ever = (action: Action, target: Target) => {
    const verdict = decideRole(bindings, action, target, me.root_mode.open);
    return verdict.kind === 'allow' || (verdict.kind === 'root_mode_required' && me.root_mode.root_allowed);
  };
  const mayChange = (key: KeyTarget) =>
    ever('api_key:update', {
      organization_id: key.organization_id,
      workspace_id: key.workspace_id,
      key_type: key.key_type,
      system: key.requires_root_mode,
    });
  const mayCreateIn = (workspaceId: string) =>
    ever('api_key:create', {
      organization_id: organizationId,
      workspace_id: workspaceId,
      key_type: 'workspace',
    });
  const role = roleIn(bindings, organizationId);
  // Owners create in any workspace; a workspace admin in its own.
  const workspaces = me.bindings.flatMap((b) =>
    b.organization_id === organizationId ? b.workspace_ids : [],
  );
  const anyWorkspace = role === 'super_admin' || role === 'org_owner' || workspaces.some(mayCreateIn);
  return {
    role,
    createTypes: [
      ...(anyWorkspace ? (['workspace'] as const) : []),
      ...(ever('api_key:create', {
        organization_id: organizationId,
        workspace_id: null,
        key_type: 'organization',
      })
        ? (['organization'] as const)
        : []),
    ],
    mayCreateIn,
    mayChange,
    mayPutPolicy: ever('policy:put', { organization_id: organizationId }),
  };
}
