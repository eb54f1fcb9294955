/**
 * Who may do what on the management API (docs/tenancy.md): roles, principal bindings and how a
 * caller's ARN matches one, the role matrix, and each caller's reach for listings. Pure: the
 * service `functions/services/access-control.ts` loads the facts and calls these.
 */
import type { KeyType } from './key-type';

export const ROLES = ['member', 'auditor', 'workspace_admin', 'org_owner', 'super_admin'] as const;
export type Role = (typeof ROLES)[number];

/** Higher is more: the effective role of a caller for a target is its highest covering binding. */
const RANK: Readonly<Record<Role, number>> = {
  member: 0,
  auditor: 1,
  workspace_admin: 2,
  org_owner: 3,
  super_admin: 4,
};

/** The actions of the routes Latchkey has; routes added later use `<resource>:<verb>` (see `genericVerdict`). */
export const ACTIONS = [
  'api_key:create',
  'api_key:read',
  'api_key:update',
  'api_key:rotate',
  'api_key:revoke',
  'audit:read',
  'scope:read',
  'organization:create',
  'organization:read',
  'organization:update',
  'workspace:create',
  'workspace:read',
  'workspace:update',
  'policy:read',
  'policy:put',
  'binding:read',
  'binding:put',
  'binding:delete',
  'root_mode:open',
  'root_mode:read',
  'root_mode:close',
  'self:read',
] as const;
export type KnownAction = (typeof ACTIONS)[number];
/** A known action, or `<resource>:<verb>` for a route that adopted the check later. */
export type Action = KnownAction | `${string}:${string}`;
export const ACTION_PATTERN = /^[a-z][a-z_]*:[a-z][a-z_]*$/;

/**
 * The organization id under which platform-wide events are audited (root mode, super-admin
 * bindings, refusals of unbound principals). No organization can take this id.
 */
export const PLATFORM_FEED = 'platform';
export const RESERVED_ORGANIZATION_IDS: readonly string[] = [PLATFORM_FEED];

/** A principal's role in one organization (or everywhere, for a super admin). */
export interface Binding {
  /** An IAM principal ARN, or a pattern with `*` (docs/tenancy.md#matching). */
  readonly principal: string;
  readonly role: Role;
  /** `null` only for `super_admin`, whose binding covers every organization. */
  readonly organization_id: string | null;
  /** `workspace_admin` only: the workspaces of `organization_id` it administers. */
  readonly workspace_ids: readonly string[];
  /** Whether the principal may open root mode (`super_admin` only). */
  readonly root_allowed: boolean;
}

// ---- Matching a caller to bindings -----------------------------------------------------------------

/** `arn:<partition>:(iam|sts)::<account>:<resource>`; `*` allowed in the resource part only. */
export const PRINCIPAL_PATTERN = /^arn:aws[a-z-]*:(iam|sts)::\d{12}:[A-Za-z0-9+=,.@_/*-]{1,900}$/;
const ASSUMED_ROLE = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([^/]+)\/[^/]+$/;

export function isPattern(principal: string): boolean {
  return principal.includes('*');
}

/**
 * The ARNs a caller is known by: itself and, for an assumed-role session
 * (`arn:aws:sts::<acct>:assumed-role/<Role>/<session>`), the role it is a session of
 * (`arn:aws:iam::<acct>:role/<Role>`). A session ARN carries no role path, so a binding naming a
 * role with a path never matches a session: bind the path-less role ARN or a pattern.
 */
export function principalCandidates(callerArn: string): string[] {
  const m = ASSUMED_ROLE.exec(callerArn);
  return m ? [callerArn, `arn:${m[1]}:iam::${m[2]}:role/${m[3]}`] : [callerArn];
}

/** `*` stands for any run of characters (`/` included, as in IAM's ArnLike); the rest is literal. */
export function principalPatternMatches(pattern: string, arn: string): boolean {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`).test(arn);
}

/** Whether `binding` names the caller: exactly (itself or its role) or by pattern. */
export function bindingMatches(binding: Pick<Binding, 'principal'>, callerArn: string): boolean {
  const candidates = principalCandidates(callerArn);
  return isPattern(binding.principal)
    ? candidates.some((c) => principalPatternMatches(binding.principal, c))
    : candidates.includes(binding.principal);
}

// ---- The role matrix -------------------------------------------------------------------------------

/** What a request is about. Absent fields are not part of it. */
export interface Target {
  readonly organization_id?: string;
  readonly workspace_id?: string | null;
  /** Key actions: the key's type (on create: the type asked for). */
  readonly key_type?: KeyType;
  /** Key actions: the key is (or would be) a system key or holds a `system:*` scope. */
  readonly system?: boolean;
}

export type RoleVerdict =
  | { readonly kind: 'allow'; readonly role: Role }
  /** No binding at all: 403 on every route. */
  | { readonly kind: 'unbound' }
  /** No binding lets the caller see the target: a key is then answered 404, anything else 403. */
  | { readonly kind: 'hidden' }
  /** The caller sees the target, but its role may not do this: 403. */
  | { readonly kind: 'forbidden'; readonly role: Role }
  /** Allowed to the role only inside root mode, which is not open: 403. */
  | { readonly kind: 'root_mode_required'; readonly role: Role };

type One = 'allow' | 'hidden' | 'forbidden' | 'root';

const WRITE_KEY_ACTIONS = new Set(['api_key:create', 'api_key:update', 'api_key:rotate', 'api_key:revoke']);
const READ_VERBS = new Set(['read', 'list', 'get', 'export']);

const inOrg = (b: Binding, t: Target) =>
  t.organization_id !== undefined && b.organization_id === t.organization_id;

/** Whether `b` lets its principal see key `t`. */
function seesKey(b: Binding, t: Target): boolean {
  if (b.role === 'super_admin') return true;
  if (!inOrg(b, t)) return false;
  if (b.role === 'org_owner' || b.role === 'auditor') return true;
  return (
    b.role === 'workspace_admin' &&
    t.key_type === 'workspace' &&
    typeof t.workspace_id === 'string' &&
    b.workspace_ids.includes(t.workspace_id)
  );
}

function keyVerdict(b: Binding, action: string, t: Target): One {
  if (!seesKey(b, t)) return 'hidden';
  if (!WRITE_KEY_ACTIONS.has(action)) return 'allow';
  switch (b.role) {
    case 'super_admin':
      return t.system ? 'root' : 'allow';
    case 'org_owner':
      return t.system ? 'forbidden' : 'allow';
    case 'workspace_admin':
      return t.system ? 'forbidden' : 'allow';
    default:
      return 'forbidden';
  }
}

/** An organization-level target (workspaces, policy, audit feed, organization record). */
function orgVerdict(b: Binding, t: Target, allowed: readonly Role[]): One {
  if (b.role === 'super_admin') return 'allow';
  if (!inOrg(b, t)) return 'hidden';
  if (!allowed.includes(b.role)) return 'forbidden';
  // A workspace admin reaches only its own workspaces.
  if (b.role === 'workspace_admin' && typeof t.workspace_id === 'string') {
    return b.workspace_ids.includes(t.workspace_id) ? 'allow' : 'hidden';
  }
  return 'allow';
}

const EVERY_ORG_ROLE: readonly Role[] = ['member', 'auditor', 'workspace_admin', 'org_owner'];
const READERS: readonly Role[] = ['auditor', 'workspace_admin', 'org_owner'];
const OWNERS: readonly Role[] = ['org_owner'];

/** Actions of routes added after this module: `<resource>:<verb>`, reads for readers, the rest for owners. */
function genericVerdict(b: Binding, action: string, t: Target): One {
  if (b.role === 'super_admin') return 'allow';
  if (t.organization_id === undefined) return 'forbidden';
  const verb = action.slice(action.indexOf(':') + 1);
  return orgVerdict(b, t, READ_VERBS.has(verb) ? READERS : OWNERS);
}

function verdictOf(b: Binding, action: Action, t: Target): One {
  const isSuper = b.role === 'super_admin';
  switch (action) {
    case 'api_key:create':
    case 'api_key:read':
    case 'api_key:update':
    case 'api_key:rotate':
    case 'api_key:revoke':
      return keyVerdict(b, action, t);
    case 'audit:read':
      // With a key: the key's history, visible as the key is. Without: an organization's feed.
      if (t.key_type !== undefined) return keyVerdict(b, 'api_key:read', t);
      if (t.organization_id === PLATFORM_FEED) return isSuper ? 'allow' : 'forbidden';
      return orgVerdict(b, t, READERS);
    case 'scope:read':
    case 'root_mode:read':
    case 'root_mode:close':
    case 'self:read':
      return 'allow';
    case 'root_mode:open':
      return isSuper && b.root_allowed ? 'allow' : 'forbidden';
    case 'organization:create':
    case 'organization:update':
    case 'binding:read':
    case 'binding:put':
    case 'binding:delete':
      return isSuper ? 'allow' : 'forbidden';
    case 'organization:read':
    case 'workspace:read':
    case 'policy:read':
      return orgVerdict(b, t, EVERY_ORG_ROLE);
    case 'workspace:create':
    case 'workspace:update':
    case 'policy:put':
      return orgVerdict(b, t, OWNERS);
    default:
      return genericVerdict(b, action, t);
  }
}

/**
 * The role matrix (docs/tenancy.md#the-role-matrix) over all of a caller's bindings: allowed when
 * any binding allows; otherwise forbidden when any binding sees the target, hidden when none does.
 * `elevated`: the caller has root mode open.
 */
export function decideRole(
  bindings: readonly Binding[],
  action: Action,
  target: Target,
  elevated: boolean,
): RoleVerdict {
  if (bindings.length === 0) return { kind: 'unbound' };
  let best: { kind: One; role: Role } | undefined;
  const order: Readonly<Record<One, number>> = { hidden: 0, forbidden: 1, root: 2, allow: 3 };
  for (const b of bindings) {
    let kind = verdictOf(b, action, target);
    if (kind === 'root' && elevated) kind = 'allow';
    if (
      !best ||
      order[kind] > order[best.kind] ||
      (order[kind] === order[best.kind] && RANK[b.role] > RANK[best.role])
    ) {
      best = { kind, role: b.role };
    }
  }
  if (!best || best.kind === 'hidden') return { kind: 'hidden' };
  if (best.kind === 'allow') return { kind: 'allow', role: best.role };
  if (best.kind === 'root') return { kind: 'root_mode_required', role: best.role };
  return { kind: 'forbidden', role: best.role };
}

/** The caller's highest role among bindings that concern `organizationId` (for policy conditions). */
export function roleIn(bindings: readonly Binding[], organizationId: string | undefined): Role | null {
  let role: Role | null = null;
  for (const b of bindings) {
    if (b.role !== 'super_admin' && b.organization_id !== organizationId) continue;
    if (role === null || RANK[b.role] > RANK[role]) role = b.role;
  }
  return role;
}

// ---- Reach: what a listing may show ----------------------------------------------------------------

/** Keys a caller may list: every key, or those of whole organizations and of some workspaces. */
export type KeyReach =
  | { readonly all: true }
  | {
      readonly all: false;
      /** Every key of these organizations. */
      readonly organizations: readonly string[];
      /** Workspace keys of these workspaces (organizations above excluded). */
      readonly workspaces: readonly { readonly organization_id: string; readonly workspace_ids: string[] }[];
    };

export function keyReach(bindings: readonly Binding[]): KeyReach {
  if (bindings.some((b) => b.role === 'super_admin')) return { all: true };
  const organizations = new Set<string>();
  const workspaces = new Map<string, Set<string>>();
  for (const b of bindings) {
    if (b.organization_id === null) continue;
    if (b.role === 'org_owner' || b.role === 'auditor') organizations.add(b.organization_id);
    if (b.role === 'workspace_admin') {
      const set = workspaces.get(b.organization_id) ?? new Set<string>();
      for (const w of b.workspace_ids) set.add(w);
      workspaces.set(b.organization_id, set);
    }
  }
  return {
    all: false,
    organizations: [...organizations].sort(),
    workspaces: [...workspaces]
      .filter(([org, ws]) => !organizations.has(org) && ws.size > 0)
      .map(([organization_id, ws]) => ({ organization_id, workspace_ids: [...ws].sort() }))
      .sort((a, b) => (a.organization_id < b.organization_id ? -1 : 1)),
  };
}

/** `reach` narrowed to one organization (and workspace), as a listing filtered by them asks. */
export function narrowReach(reach: KeyReach, organizationId?: string, workspaceId?: string): KeyReach {
  if (reach.all || organizationId === undefined) return reach;
  const whole = reach.organizations.includes(organizationId);
  const ws = reach.workspaces.find((w) => w.organization_id === organizationId)?.workspace_ids ?? [];
  return {
    all: false,
    organizations: whole ? [organizationId] : [],
    workspaces:
      !whole && ws.length
        ? [
            {
              organization_id: organizationId,
              workspace_ids: workspaceId === undefined ? ws : ws.filter((w) => w === workspaceId),
            },
          ].filter((w) => w.workspace_ids.length > 0)
        : [],
  };
}

export function reachIsEmpty(reach: KeyReach): boolean {
  return !reach.all && reach.organizations.length === 0 && reach.workspaces.length === 0;
}

/** Organizations a caller may read (any binding in them); `all` for a super admin. */
export function organizationReach(
  bindings: readonly Binding[],
): { all: true } | { all: false; ids: string[] } {
  if (bindings.some((b) => b.role === 'super_admin')) return { all: true };
  return {
    all: false,
    ids: [
      ...new Set(bindings.flatMap((b) => (b.organization_id === null ? [] : [b.organization_id]))),
    ].sort(),
  };
}

/** Workspaces of `organizationId` a caller may read: all of them, or a workspace admin's own. */
export function workspaceReach(bindings: readonly Binding[], organizationId: string): 'all' | string[] {
  const relevant = bindings.filter((b) => b.role === 'super_admin' || b.organization_id === organizationId);
  if (relevant.some((b) => b.role !== 'workspace_admin')) return 'all';
  return [...new Set(relevant.flatMap((b) => b.workspace_ids))].sort();
}
