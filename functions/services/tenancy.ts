/**
 * Organizations, workspaces, organization policies and principal bindings (docs/tenancy.md): each
 * operation checks its caller with `authorize` first, then writes its record together with its
 * audit entry (one transaction, `admin-repository.ts`).
 */
import { randomUUID } from 'node:crypto';
import {
  type Binding,
  organizationReach,
  PLATFORM_FEED,
  RESERVED_ORGANIZATION_IDS,
  type Role,
  workspaceReach,
} from '../domain/access';
import type { Actor } from '../domain/api-key';
import { type AuditEntry, type AuditEventName, adminEntry, type FieldChange } from '../domain/audit';
import { ConflictError, NotFoundError, ValidationError } from '../domain/errors';
import {
  BUILT_IN_RULE_IDS,
  type BuiltInPolicies,
  DEFAULT_BUILT_INS,
  LOCKED_BUILT_INS,
  type PolicyRule,
} from '../domain/policy';
import {
  bindingId,
  DEFAULT_ORGANIZATION,
  DEFAULT_WORKSPACE,
  type Organization,
  type OrganizationPolicy,
  parseBindingId,
  type StoredBinding,
  type TenantStatus,
  type Workspace,
} from '../domain/tenancy';
import * as admin from '../repositories/admin-repository';
import { WriteConflict } from '../repositories/admin-repository';
import { configuredSuperAdmins, deployPolicyRules } from '../shared/deploy-policy';
import { decodeNextToken, encodeNextToken } from '../shared/pagination';
import { type AccessDecision, authorize, type Clock, callerBindings, requireBound } from './access-control';

const systemClock: Clock = () => new Date();

export interface Listing<T> {
  readonly items: T[];
  readonly next_token: string | null;
}

function entry(
  name: AuditEventName,
  actor: Actor,
  at: Date,
  organizationId: string,
  details: Record<string, unknown>,
  changes?: Record<string, FieldChange>,
  workspaceId?: string,
): AuditEntry {
  return adminEntry({
    eventId: randomUUID(),
    eventName: name,
    at,
    actor,
    organizationId,
    workspaceId,
    details,
    ...(changes ? { changes } : {}),
  });
}

/** Before/after of each field of `patch` that differs from `current`. */
function changesOf<T extends object>(current: T, patch: Partial<T>): Record<string, FieldChange> {
  const changes: Record<string, FieldChange> = {};
  for (const [k, after] of Object.entries(patch)) {
    const before = (current as Record<string, unknown>)[k];
    if (after !== undefined && JSON.stringify(before) !== JSON.stringify(after)) {
      changes[k] = { before: before ?? null, after };
    }
  }
  return changes;
}

function conflictOf(error: unknown, messages: Partial<Record<WriteConflict['reason'], string>>): unknown {
  if (!(error instanceof WriteConflict)) return error;
  return new ConflictError(messages[error.reason] ?? 'Changed by another request; read it again and retry.');
}

/**
 * A rename, status or switch change of a record: nothing written when nothing changes, else one
 * versioned write carrying its audit entry (`write` gets the fields to set and what changed).
 * Answers the record as it now is.
 */
async function patchRecord<T extends { version: number }>(
  record: T,
  patch: Partial<T>,
  caller: Actor,
  now: Date,
  write: (set: Record<string, unknown>, changes: Record<string, FieldChange>) => Promise<void>,
): Promise<T> {
  const changes = changesOf(record, patch);
  if (Object.keys(changes).length === 0) return record;
  const set = { ...patch, updated_at: now.toISOString(), updated_by: caller.principal };
  try {
    await write(set, changes);
  } catch (error) {
    throw conflictOf(error, {});
  }
  return { ...record, ...set, version: record.version + 1 };
}

// ---- Organizations ---------------------------------------------------------------------------------

export interface OrganizationView {
  organization_id: string;
  name: string;
  status: TenantStatus;
  api_keys_enabled: boolean;
  created_at: string;
  created_by: string;
  updated_at: string;
  updated_by: string;
  version: number;
}

const organizationView = (o: Organization): OrganizationView => ({
  organization_id: o.organization_id,
  name: o.name,
  status: o.status,
  api_keys_enabled: o.api_keys_enabled,
  created_at: o.created_at,
  created_by: o.created_by,
  updated_at: o.updated_at,
  updated_by: o.updated_by,
  version: o.version,
});

function newOrganization(id: string, name: string, actor: string, now: Date): [Organization, Workspace] {
  const at = now.toISOString();
  const stamp = { created_at: at, created_by: actor, updated_at: at, updated_by: actor, version: 1 };
  return [
    { organization_id: id, name, status: 'active', api_keys_enabled: true, ...stamp },
    { organization_id: id, workspace_id: DEFAULT_WORKSPACE, name: 'Default', status: 'active', ...stamp },
  ];
}

export async function createOrganization(
  caller: Actor,
  input: { organization_id: string; name: string },
  clock: Clock = systemClock,
): Promise<{ view: OrganizationView; decision: AccessDecision }> {
  const decision = await authorize(caller, 'organization:create', {}, { clock });
  if (RESERVED_ORGANIZATION_IDS.includes(input.organization_id)) {
    throw new ValidationError(`${JSON.stringify(input.organization_id)} is reserved.`, [
      { field: 'organization_id', message: 'is reserved' },
    ]);
  }
  const now = clock();
  const [org, ws] = newOrganization(input.organization_id, input.name, caller.principal, now);
  try {
    await admin.createOrganization(org, ws, [
      entry('admin.organization_created', caller, now, org.organization_id, {
        name: org.name,
        workspace_id: ws.workspace_id,
      }),
    ]);
  } catch (error) {
    throw conflictOf(error, {
      exists: `Organization ${JSON.stringify(org.organization_id)} exists already.`,
    });
  }
  return { view: organizationView(org), decision };
}

export async function listOrganizations(
  caller: Actor,
  limit: number,
  nextToken: string | undefined,
  clock: Clock = systemClock,
): Promise<Listing<OrganizationView>> {
  await requireBound(caller, clock);
  const reach = organizationReach(await callerBindings(caller));
  if (reach.all) {
    await authorize(caller, 'organization:read', {}, { clock });
    const page = await admin.listOrganizations(limit, decodeNextToken(nextToken));
    return { items: page.items.map(organizationView), next_token: encodeNextToken(page.lastKey) };
  }
  // A bound admin's organizations are few: all of them, on one page.
  const items: OrganizationView[] = [];
  for (const id of reach.ids) {
    await authorize(caller, 'organization:read', { organization_id: id }, { clock });
    const org = await admin.getOrganization(id);
    if (org) items.push(organizationView(org));
  }
  return { items, next_token: null };
}

async function mustGetOrganization(id: string): Promise<Organization> {
  const org = await admin.getOrganization(id);
  if (!org) throw new NotFoundError(`No organization ${JSON.stringify(id)}.`);
  return org;
}

export async function describeOrganization(caller: Actor, id: string, clock: Clock = systemClock) {
  const decision = await authorize(caller, 'organization:read', { organization_id: id }, { clock });
  return { view: organizationView(await mustGetOrganization(id)), decision };
}

export interface OrganizationPatch {
  readonly name?: string | undefined;
  readonly status?: TenantStatus | undefined;
  readonly api_keys_enabled?: boolean | undefined;
}

export async function updateOrganization(
  caller: Actor,
  id: string,
  patch: OrganizationPatch,
  clock: Clock = systemClock,
) {
  const decision = await authorize(caller, 'organization:update', { organization_id: id }, { clock });
  const org = await mustGetOrganization(id);
  const now = clock();
  const updated = await patchRecord(org, patch, caller, now, (set, changes) =>
    admin.updateOrganization(id, org.version, set, [
      entry('admin.organization_updated', caller, now, id, {}, changes),
    ]),
  );
  return { view: organizationView(updated), decision };
}

// ---- Workspaces ----------------------------------------------------------------------------------

export interface WorkspaceView {
  organization_id: string;
  workspace_id: string;
  name: string;
  status: TenantStatus;
  created_at: string;
  created_by: string;
  updated_at: string;
  updated_by: string;
  version: number;
}

const workspaceView = (w: Workspace): WorkspaceView => ({
  organization_id: w.organization_id,
  workspace_id: w.workspace_id,
  name: w.name,
  status: w.status,
  created_at: w.created_at,
  created_by: w.created_by,
  updated_at: w.updated_at,
  updated_by: w.updated_by,
  version: w.version,
});

export async function createWorkspace(
  caller: Actor,
  org: string,
  input: { workspace_id: string; name: string },
  clock: Clock = systemClock,
) {
  const decision = await authorize(caller, 'workspace:create', { organization_id: org }, { clock });
  const organization = await mustGetOrganization(org);
  if (organization.status !== 'active') {
    throw new ConflictError(`Organization ${JSON.stringify(org)} is archived: it takes no new workspaces.`);
  }
  const now = clock();
  const at = now.toISOString();
  const ws: Workspace = {
    organization_id: org,
    workspace_id: input.workspace_id,
    name: input.name,
    status: 'active',
    created_at: at,
    created_by: caller.principal,
    updated_at: at,
    updated_by: caller.principal,
    version: 1,
  };
  try {
    await admin.createWorkspace(ws, [
      entry('admin.workspace_created', caller, now, org, { name: ws.name }, undefined, ws.workspace_id),
    ]);
  } catch (error) {
    throw conflictOf(error, {
      exists: `Workspace ${JSON.stringify(ws.workspace_id)} exists already in ${JSON.stringify(org)}.`,
      missing: `Organization ${JSON.stringify(org)} is archived or gone.`,
    });
  }
  return { view: workspaceView(ws), decision };
}

export async function listWorkspaces(
  caller: Actor,
  org: string,
  limit: number,
  nextToken: string | undefined,
  clock: Clock = systemClock,
) {
  const decision = await authorize(caller, 'workspace:read', { organization_id: org }, { clock });
  await mustGetOrganization(org);
  const reach = workspaceReach(decision.bindings, org);
  const page = await admin.listWorkspaces(
    org,
    limit,
    decodeNextToken(nextToken),
    reach === 'all' ? undefined : reach,
  );
  return {
    listing: { items: page.items.map(workspaceView), next_token: encodeNextToken(page.lastKey) },
    decision,
  };
}

async function mustGetWorkspace(org: string, ws: string): Promise<Workspace> {
  const workspace = await admin.getWorkspace(org, ws);
  if (!workspace) throw new NotFoundError(`No workspace ${JSON.stringify(ws)} in ${JSON.stringify(org)}.`);
  return workspace;
}

export async function describeWorkspace(caller: Actor, org: string, ws: string, clock: Clock = systemClock) {
  const decision = await authorize(
    caller,
    'workspace:read',
    { organization_id: org, workspace_id: ws },
    { clock },
  );
  return { view: workspaceView(await mustGetWorkspace(org, ws)), decision };
}

export async function updateWorkspace(
  caller: Actor,
  org: string,
  ws: string,
  patch: { name?: string | undefined; status?: TenantStatus | undefined },
  clock: Clock = systemClock,
) {
  const decision = await authorize(
    caller,
    'workspace:update',
    { organization_id: org, workspace_id: ws },
    { clock },
  );
  const workspace = await mustGetWorkspace(org, ws);
  const now = clock();
  const updated = await patchRecord(workspace, patch, caller, now, (set, changes) =>
    admin.updateWorkspace(org, ws, workspace.version, set, [
      entry('admin.workspace_updated', caller, now, org, {}, changes, ws),
    ]),
  );
  return { view: workspaceView(updated), decision };
}

// ---- Organization policy -------------------------------------------------------------------------

export interface PolicyView {
  organization_id: string;
  built_in: {
    production_expiry: BuiltInPolicies['production_expiry'] & { rule_id: string };
    execute_requires_elevation: BuiltInPolicies['execute_requires_elevation'] & { rule_id: string };
    revoked_keys_final: (typeof LOCKED_BUILT_INS)['revoked_keys_final'];
    rotation_history: (typeof LOCKED_BUILT_INS)['rotation_history'];
  };
  rules: PolicyRule[];
  /** The deploy-wide rules (`latchkey:policyRules`), evaluated before the organization's own. */
  deploy_rules: PolicyRule[];
  version: number;
  updated_at: string | null;
  updated_by: string | null;
}

async function currentPolicy(org: string): Promise<OrganizationPolicy> {
  const stored = await admin.getPolicy(org);
  return {
    organization_id: org,
    built_in: stored?.built_in ?? DEFAULT_BUILT_INS,
    rules: stored?.rules ?? [],
    version: stored?.version ?? 0,
    updated_at: stored?.updated_at ?? null,
    updated_by: stored?.updated_by ?? null,
  };
}

function policyView(p: OrganizationPolicy): PolicyView {
  return {
    organization_id: p.organization_id,
    built_in: {
      production_expiry: { ...p.built_in.production_expiry, rule_id: BUILT_IN_RULE_IDS.production_expiry },
      execute_requires_elevation: {
        ...p.built_in.execute_requires_elevation,
        rule_id: BUILT_IN_RULE_IDS.execute_requires_elevation,
      },
      revoked_keys_final: LOCKED_BUILT_INS.revoked_keys_final,
      rotation_history: LOCKED_BUILT_INS.rotation_history,
    },
    rules: [...p.rules],
    deploy_rules: [...deployPolicyRules()],
    version: p.version,
    updated_at: p.updated_at,
    updated_by: p.updated_by,
  };
}

export async function describePolicy(caller: Actor, org: string, clock: Clock = systemClock) {
  const decision = await authorize(caller, 'policy:read', { organization_id: org }, { clock });
  await mustGetOrganization(org);
  return { view: policyView(await currentPolicy(org)), decision };
}

export interface PolicyInput {
  readonly built_in: BuiltInPolicies;
  readonly rules: readonly PolicyRule[];
  /** The version the caller read; a policy changed since is a 409. */
  readonly version?: number | undefined;
}

export async function replacePolicy(
  caller: Actor,
  org: string,
  input: PolicyInput,
  clock: Clock = systemClock,
) {
  const decision = await authorize(caller, 'policy:put', { organization_id: org }, { clock });
  await mustGetOrganization(org);
  const current = await currentPolicy(org);
  if (input.version !== undefined && input.version !== current.version) {
    throw new ConflictError(
      `The policy is at version ${current.version}, not ${input.version}: read it again and retry.`,
    );
  }
  const now = clock();
  const next: OrganizationPolicy = {
    organization_id: org,
    built_in: input.built_in,
    rules: [...input.rules],
    version: current.version + 1,
    updated_at: now.toISOString(),
    updated_by: caller.principal,
  };
  const changes = changesOf(
    { built_in: current.built_in, rules: current.rules },
    { built_in: next.built_in, rules: next.rules },
  );
  try {
    await admin.putPolicy(next, [
      entry('admin.policy_changed', caller, now, org, { version: next.version }, changes),
    ]);
  } catch (error) {
    throw conflictOf(error, {});
  }
  return { view: policyView(next), decision };
}

// ---- Bindings ------------------------------------------------------------------------------------

export interface BindingView {
  id: string;
  principal: string;
  role: Role;
  organization_id: string | null;
  workspace_ids: string[];
  root_allowed: boolean;
  created_at: string;
  created_by: string;
  updated_at: string;
  updated_by: string;
}

const bindingView = (b: StoredBinding): BindingView => ({
  id: bindingId(b.principal, b.organization_id),
  principal: b.principal,
  role: b.role,
  organization_id: b.organization_id,
  workspace_ids: [...(b.workspace_ids ?? [])],
  root_allowed: b.root_allowed === true,
  created_at: b.created_at,
  created_by: b.created_by,
  updated_at: b.updated_at,
  updated_by: b.updated_by,
});

export async function listBindings(
  caller: Actor,
  filter: { organization_id?: string | undefined; principal?: string | undefined },
  limit: number,
  nextToken: string | undefined,
  clock: Clock = systemClock,
) {
  const decision = await authorize(caller, 'binding:read', {}, { clock });
  const page = await admin.listBindings(
    {
      ...(filter.organization_id !== undefined ? { organization_id: filter.organization_id } : {}),
      ...(filter.principal !== undefined ? { principal: filter.principal } : {}),
    },
    limit,
    decodeNextToken(nextToken),
  );
  return {
    listing: { items: page.items.map(bindingView), next_token: encodeNextToken(page.lastKey) },
    decision,
  };
}

export interface BindingInput {
  readonly principal: string;
  readonly role: Role;
  readonly organization_id?: string | null | undefined;
  readonly workspace_ids?: readonly string[] | undefined;
  readonly root_allowed?: boolean | undefined;
}

/** The binding an input describes, or the first field that makes no sense for its role. */
function bindingOf(input: BindingInput): Binding {
  const org = input.organization_id ?? null;
  const problem = (field: string, message: string) =>
    new ValidationError(`Invalid binding: ${field}: ${message}`, [{ field, message }]);
  if (input.role === 'super_admin') {
    if (org !== null)
      throw problem('organization_id', 'a super_admin binding covers every organization: omit it');
  } else if (org === null) {
    throw problem('organization_id', `a ${input.role} binding names its organization`);
  }
  const workspaces = [...new Set(input.workspace_ids ?? [])];
  if (input.role === 'workspace_admin' && workspaces.length === 0) {
    throw problem('workspace_ids', 'a workspace_admin binding names at least one workspace');
  }
  if (input.role !== 'workspace_admin' && workspaces.length > 0) {
    throw problem('workspace_ids', 'only a workspace_admin binding names workspaces');
  }
  if (input.root_allowed && input.role !== 'super_admin') {
    throw problem('root_allowed', 'only a super_admin may be allowed root mode');
  }
  return {
    principal: input.principal,
    role: input.role,
    organization_id: org,
    workspace_ids: workspaces.sort(),
    root_allowed: input.root_allowed === true,
  };
}

/** Creates or replaces the binding of `principal` in its organization (one per pair). */
export async function putBinding(caller: Actor, input: BindingInput, clock: Clock = systemClock) {
  const binding = bindingOf(input);
  const org = binding.organization_id;
  const decision = await authorize(caller, 'binding:put', org === null ? {} : { organization_id: org }, {
    clock,
  });
  if (org !== null) {
    const organization = await admin.getOrganization(org);
    if (!organization) {
      throw new ValidationError(`No organization ${JSON.stringify(org)}.`, [
        { field: 'organization_id', message: `no organization ${JSON.stringify(org)}` },
      ]);
    }
    for (const [i, ws] of binding.workspace_ids.entries()) {
      if (!(await admin.getWorkspace(org, ws))) {
        throw new ValidationError(`No workspace ${JSON.stringify(ws)} in ${JSON.stringify(org)}.`, [
          {
            field: `workspace_ids.${i}`,
            message: `no workspace ${JSON.stringify(ws)} in ${JSON.stringify(org)}`,
          },
        ]);
      }
    }
  }
  const previous = await admin.getBinding(binding.principal, org);
  const now = clock();
  const at = now.toISOString();
  const stored: StoredBinding = {
    ...binding,
    created_at: previous?.created_at ?? at,
    created_by: previous?.created_by ?? caller.principal,
    updated_at: at,
    updated_by: caller.principal,
  };
  const changes = changesOf(
    previous
      ? {
          role: previous.role,
          workspace_ids: previous.workspace_ids ?? [],
          root_allowed: previous.root_allowed,
        }
      : {},
    { role: stored.role, workspace_ids: [...stored.workspace_ids], root_allowed: stored.root_allowed },
  );
  try {
    await admin.putBinding(stored, previous, [
      entry(
        'admin.binding_put',
        caller,
        now,
        org ?? PLATFORM_FEED,
        { binding_id: bindingId(stored.principal, org), principal: stored.principal, role: stored.role },
        changes,
      ),
    ]);
  } catch (error) {
    throw conflictOf(error, {});
  }
  return { view: bindingView(stored), created: previous === undefined, decision };
}

export async function deleteBinding(caller: Actor, id: string, clock: Clock = systemClock) {
  const parsed = parseBindingId(id);
  const org = parsed?.organization_id ?? null;
  const decision = await authorize(caller, 'binding:delete', org === null ? {} : { organization_id: org }, {
    clock,
  });
  const existing = parsed && (await admin.getBinding(parsed.principal, parsed.organization_id));
  if (!existing) throw new NotFoundError(`No binding with id ${JSON.stringify(id)}.`);
  const now = clock();
  try {
    await admin.deleteBinding(existing, [
      entry('admin.binding_deleted', caller, now, org ?? PLATFORM_FEED, {
        binding_id: id,
        principal: existing.principal,
        role: existing.role,
      }),
    ]);
  } catch (error) {
    if (error instanceof WriteConflict) throw new NotFoundError(`No binding with id ${JSON.stringify(id)}.`);
    throw error;
  }
  return { view: bindingView(existing), decision };
}

// ---- Seeding (docs/tenancy.md#seeding) -----------------------------------------------------------

export interface SeedInput {
  /** Organizations (with extra workspaces) to create when absent; `default` always is. */
  readonly organizations?: readonly {
    organization_id: string;
    name: string;
    workspaces?: readonly string[];
  }[];
  /** Bindings to create when absent (never replaced); the configured super admins are added. */
  readonly bindings?: readonly BindingInput[];
}

export interface SeedResult {
  readonly organizations_created: string[];
  readonly workspaces_created: string[];
  readonly bindings_created: string[];
}

/**
 * Creates what is absent and touches nothing that exists: the `default` organization (with its
 * `default` workspace), `input.organizations`, and a binding for each configured super admin (root
 * allowed) and each of `input.bindings`. Each creation is audited, by `actor`.
 */
export async function seed(
  actor: Actor,
  input: SeedInput = {},
  clock: Clock = systemClock,
): Promise<SeedResult> {
  const result: SeedResult = { organizations_created: [], workspaces_created: [], bindings_created: [] };
  const organizations = [
    { organization_id: DEFAULT_ORGANIZATION, name: 'Default', workspaces: [] as readonly string[] },
    ...(input.organizations ?? []),
  ];
  for (const o of organizations) {
    const now = clock();
    const [org, ws] = newOrganization(o.organization_id, o.name, actor.principal, now);
    try {
      await admin.createOrganization(org, ws, [
        entry('admin.organization_created', actor, now, org.organization_id, {
          name: org.name,
          workspace_id: ws.workspace_id,
          seeded: true,
        }),
      ]);
      result.organizations_created.push(org.organization_id);
    } catch (error) {
      if (!(error instanceof WriteConflict)) throw error;
    }
    for (const id of o.workspaces ?? []) {
      const at = clock();
      const workspace: Workspace = { ...ws, workspace_id: id, name: id };
      try {
        await admin.createWorkspace(workspace, [
          entry(
            'admin.workspace_created',
            actor,
            at,
            org.organization_id,
            { name: id, seeded: true },
            undefined,
            id,
          ),
        ]);
        result.workspaces_created.push(`${org.organization_id}/${id}`);
      } catch (error) {
        if (!(error instanceof WriteConflict)) throw error;
      }
    }
  }
  const bindings: BindingInput[] = [
    ...configuredSuperAdmins().map((principal) => ({
      principal,
      role: 'super_admin' as const,
      root_allowed: true,
    })),
    ...(input.bindings ?? []),
  ];
  for (const b of bindings) {
    const binding = bindingOf(b);
    const now = clock();
    const at = now.toISOString();
    const created = await admin.putBindingIfAbsent(
      {
        ...binding,
        created_at: at,
        created_by: actor.principal,
        updated_at: at,
        updated_by: actor.principal,
      },
      [
        entry('admin.binding_put', actor, now, binding.organization_id ?? PLATFORM_FEED, {
          binding_id: bindingId(binding.principal, binding.organization_id),
          principal: binding.principal,
          role: binding.role,
          seeded: true,
        }),
      ],
    );
    if (created) result.bindings_created.push(bindingId(binding.principal, binding.organization_id));
  }
  return result;
}
