/**
 * The one access check of the management API (docs/tenancy.md): every management route calls
 * `authorize` (or `authorizeKey` / `authorizeListing`, built on it) before it reads or writes
 * anything it answers with.
 *
 * In order: the caller's bindings (none: 403), whether any binding lets it see the target (no: 404
 * for a key, else 403), the organization's `apiKeys.enabled` (off: 503), the policy rules (a `deny`
 * rule: 403 `policy_denied` naming it), the role matrix (403 `forbidden`) and root mode (403
 * `root_mode_required`), then, for creates, that the organization and workspace exist (400). Every
 * refusal is audited with what refused it, and nothing else is written for it; `warn` rules that
 * matched are returned (and audited) with the decision.
 */
import { randomUUID } from 'node:crypto';
import {
  type Action,
  type Binding,
  bindingMatches,
  decideRole,
  type KeyReach,
  keyReach,
  narrowReach,
  PLATFORM_FEED,
  type Role,
  reachIsEmpty,
  roleIn,
  type Target,
} from '../domain/access';
import { type Actor, type ApiKeyItem, type CreateKeyInput, requiresRootMode } from '../domain/api-key';
import { type AuditEventName, adminEntry } from '../domain/audit';
import {
  type DomainError,
  ForbiddenError,
  NotFoundError,
  PolicyDeniedError,
  RootModeRequiredError,
  ServiceDisabledError,
  ValidationError,
} from '../domain/errors';
import {
  builtInRules,
  DEFAULT_BUILT_INS,
  evaluatePolicy,
  type RuleSource,
  type SourcedRule,
} from '../domain/policy';
import { type Elevation, elevationOpen, type Organization } from '../domain/tenancy';
import { isKeyId } from '../domain/token';
import {
  bindingsMatching,
  getElevation,
  getOrganization,
  getPolicy,
  getWorkspace,
} from '../repositories/admin-repository';
import { putAuditEntry } from '../repositories/audit-repository';
import { getKey } from '../repositories/keys-repository';
import { deployPolicyRules } from '../shared/deploy-policy';
import { logger } from '../shared/logger';

export type Clock = () => Date;
const systemClock: Clock = () => new Date();

/** What the request asks, as far as the rules care (docs/tenancy.md#policy-rules). */
export interface Resource extends Target {
  readonly environment?: ApiKeyItem['environment'];
  /** See `PolicyFacts.scopes`. */
  readonly scopes?: readonly string[];
  /** The expiry the request sets (`null`: none); absent when it sets none. */
  readonly expires_at?: string | null;
  /** The key the request is about: its refusals are audited in the key's history. */
  readonly key?: Pick<ApiKeyItem, 'id' | 'key_prefix'>;
}

export interface PolicyWarning {
  readonly rule_id: string;
  readonly source: RuleSource;
  readonly message: string;
}

export interface AccessDecision {
  readonly principal: string;
  /** Every binding naming the caller (listings derive their reach from them). */
  readonly bindings: readonly Binding[];
  /** The caller's highest role in the target's organization (a super admin's everywhere). */
  readonly role: Role | null;
  readonly elevated: boolean;
  readonly warnings: readonly PolicyWarning[];
}

export interface AuthorizeOptions {
  readonly clock?: Clock;
  /** A target the caller cannot see is answered 404 with this message (keys), instead of 403. */
  readonly hiddenAsNotFound?: string;
  /** Creates: the organization (and `workspace_id`, when given) must exist and be active. */
  readonly requireTenant?: boolean;
}

// ---- Facts ---------------------------------------------------------------------------------------

/** One request's bindings lookup, reused by every check of the same request (Lambda runs one at a time). */
let memo: { key: string; bindings: Promise<Binding[]> } | undefined;

function bindingsOf(caller: Actor): Promise<Binding[]> {
  const key = `${caller.request_id ?? randomUUID()}\n${caller.principal}`;
  if (memo?.key !== key) {
    const bindings = bindingsMatching(caller.principal, (b) => bindingMatches(b, caller.principal)).then(
      (all) =>
        all.map(({ principal, role, organization_id, workspace_ids, root_allowed }) => ({
          principal,
          role,
          organization_id,
          workspace_ids: workspace_ids ?? [],
          root_allowed: root_allowed === true,
        })),
    );
    memo = { key, bindings };
    // A failed lookup is not remembered.
    bindings.catch(() => {
      if (memo?.key === key) memo = undefined;
    });
  }
  return memo.bindings;
}

/** Every binding naming the caller (none for an unbound principal). */
export function callerBindings(caller: Actor): Promise<readonly Binding[]> {
  return bindingsOf(caller);
}

/** Deploy rules, then the organization's switched-on built-ins, then its own rules. */
async function rulesFor(organizationId: string | undefined): Promise<SourcedRule[]> {
  const deploy = deployPolicyRules().map((r): SourcedRule => ({ ...r, source: 'deploy' }));
  if (organizationId === undefined || organizationId === PLATFORM_FEED) return deploy;
  const policy = await getPolicy(organizationId);
  return [
    ...deploy,
    ...builtInRules(policy?.built_in ?? DEFAULT_BUILT_INS),
    ...(policy?.rules ?? []).map((r): SourcedRule => ({ ...r, source: 'organization' })),
  ];
}

const KEY_MODULE_ACTIONS = /^(api_key|audit):/;

function ruleMessage(rule: SourcedRule): string {
  return rule.description ?? `${rule.effect} rule ${rule.id} (${rule.source})`;
}

// ---- Refusals ------------------------------------------------------------------------------------

interface Refusal {
  readonly error: DomainError;
  readonly status: 403 | 404;
  readonly refusedBy: 'unbound' | 'out_of_reach' | 'role' | 'policy' | 'root_mode';
  readonly role?: Role | null;
  readonly rule?: SourcedRule;
  /** `METHOD /resource`, when the refusal came before the route named its action. */
  readonly route?: string;
}

/** Audits the refusal (never failing the answer on it), then throws its error. */
async function refuse(
  caller: Actor,
  action: Action | '*',
  resource: Resource,
  refusal: Refusal,
  now: Date,
): Promise<never> {
  const rootMode = refusal.refusedBy === 'root_mode' && action.startsWith('api_key:');
  const eventName: AuditEventName = rootMode ? 'root_mode.required_for_api_key' : 'admin.access_denied';
  try {
    await putAuditEntry(
      adminEntry({
        eventId: randomUUID(),
        eventName,
        at: now,
        actor: caller,
        organizationId: resource.organization_id ?? PLATFORM_FEED,
        workspaceId: resource.workspace_id ?? undefined,
        key: resource.key,
        details: {
          action,
          ...(refusal.route ? { route: refusal.route } : {}),
          status: refusal.status,
          refused_by: refusal.refusedBy,
          ...(refusal.role !== undefined ? { role: refusal.role } : {}),
          ...(refusal.rule ? { rule_id: refusal.rule.id, rule_source: refusal.rule.source } : {}),
          ...(resource.key_type ? { key_type: resource.key_type } : {}),
          ...(resource.environment ? { environment: resource.environment } : {}),
          ...(resource.scopes?.length ? { scopes: [...resource.scopes] } : {}),
        },
      }),
    );
  } catch (error) {
    logger.error('Could not audit a refusal', {
      action,
      refused_by: refusal.refusedBy,
      error_name: (error as Error).name,
      error_message: (error as Error).message,
    });
  }
  throw refusal.error;
}

async function auditWarnings(
  caller: Actor,
  action: Action,
  resource: Resource,
  warnings: readonly PolicyWarning[],
  now: Date,
): Promise<void> {
  try {
    await putAuditEntry(
      adminEntry({
        eventId: randomUUID(),
        eventName: 'admin.policy_warning',
        at: now,
        actor: caller,
        organizationId: resource.organization_id ?? PLATFORM_FEED,
        workspaceId: resource.workspace_id ?? undefined,
        key: resource.key,
        details: { action, warnings: warnings.map((w) => ({ ...w })) },
      }),
    );
  } catch (error) {
    logger.error('Could not audit policy warnings', {
      action,
      error_name: (error as Error).name,
      error_message: (error as Error).message,
    });
  }
}

const unboundRefusal = (): Refusal => ({
  error: new ForbiddenError(
    'No admin binding names this principal: every management route is refused (docs/tenancy.md).',
    [{ field: 'principal', message: 'is not bound to any role' }],
  ),
  status: 403,
  refusedBy: 'unbound',
});

/**
 * The gate every management route passes before its input is even parsed: an unbound principal is
 * refused (403, audited) whatever it sends.
 */
export async function requireBound(caller: Actor, clock: Clock = systemClock, route?: string): Promise<void> {
  const bindings = await bindingsOf(caller);
  // Before the route names its action: the refusal says which route (action `*`).
  if (bindings.length === 0)
    await refuse(caller, '*', {}, { ...unboundRefusal(), ...(route ? { route } : {}) }, clock());
}

// ---- The check -----------------------------------------------------------------------------------

async function tenantProblem(
  resource: Resource,
  org: Organization | undefined,
): Promise<ValidationError | undefined> {
  const id = resource.organization_id;
  if (id === undefined) return undefined;
  if (!org) {
    return new ValidationError(`No organization ${JSON.stringify(id)}.`, [
      { field: 'organization_id', message: `no organization ${JSON.stringify(id)}` },
    ]);
  }
  if (org.status !== 'active') {
    return new ValidationError(`Organization ${JSON.stringify(id)} is archived.`, [
      { field: 'organization_id', message: 'is archived' },
    ]);
  }
  const ws = resource.workspace_id;
  if (typeof ws !== 'string') return undefined;
  const workspace = await getWorkspace(id, ws);
  if (!workspace) {
    return new ValidationError(`No workspace ${JSON.stringify(ws)} in organization ${JSON.stringify(id)}.`, [
      { field: 'workspace_id', message: `no workspace ${JSON.stringify(ws)} in ${JSON.stringify(id)}` },
    ]);
  }
  if (workspace.status !== 'active') {
    return new ValidationError(`Workspace ${JSON.stringify(ws)} is archived.`, [
      { field: 'workspace_id', message: 'is archived' },
    ]);
  }
  return undefined;
}

/**
 * Decides whether `caller` may do `action` on `resource`; throws the refusal (audited), or returns
 * the decision with any policy warnings. Call it before reading or writing what the route answers.
 */
export async function authorize(
  caller: Actor,
  action: Action,
  resource: Resource = {},
  options: AuthorizeOptions = {},
): Promise<AccessDecision> {
  const now = (options.clock ?? systemClock)();
  const org = resource.organization_id;
  const [bindings, elevation, organization] = await Promise.all([
    bindingsOf(caller),
    getElevation(caller.principal),
    org === undefined || org === PLATFORM_FEED ? Promise.resolve(undefined) : getOrganization(org),
  ]);
  const elevated = elevationOpen(elevation as Elevation | undefined, now);
  const verdict = decideRole(bindings, action, resource, elevated);
  const role = roleIn(bindings, org);

  if (verdict.kind === 'unbound') return refuse(caller, action, resource, unboundRefusal(), now);
  if (verdict.kind === 'hidden') {
    const refusal: Refusal = options.hiddenAsNotFound
      ? { error: new NotFoundError(options.hiddenAsNotFound), status: 404, refusedBy: 'out_of_reach', role }
      : {
          error: new ForbiddenError('This principal has no role here.', [
            {
              field: 'organization_id',
              message: 'outside the organizations and workspaces this principal is bound to',
            },
          ]),
          status: 403,
          refusedBy: 'out_of_reach',
          role,
        };
    return refuse(caller, action, resource, refusal, now);
  }
  if (organization && !organization.api_keys_enabled && KEY_MODULE_ACTIONS.test(action)) {
    throw new ServiceDisabledError(
      `API key management is disabled for organization ${JSON.stringify(org)} (apiKeys.enabled = false).`,
    );
  }

  const outcome = evaluatePolicy(await rulesFor(org), {
    action,
    role,
    organization_id: org,
    environment: resource.environment,
    key_type: resource.key_type,
    scopes: resource.scopes ?? [],
    expires_at: resource.expires_at,
    source_ip: caller.source_ip,
    elevated,
    now,
  });
  if (outcome.denied) {
    const rule = outcome.denied;
    return refuse(
      caller,
      action,
      resource,
      {
        error: new PolicyDeniedError(
          `Refused by policy rule ${rule.id} (${rule.source}): ${ruleMessage(rule)}`,
          [{ field: 'rule_id', message: rule.id }],
        ),
        status: 403,
        refusedBy: 'policy',
        role,
        rule,
      },
      now,
    );
  }
  if (verdict.kind === 'forbidden') {
    return refuse(
      caller,
      action,
      resource,
      {
        error: new ForbiddenError(`The role ${verdict.role} may not ${action} here.`, [
          { field: 'role', message: `${verdict.role} may not ${action}` },
        ]),
        status: 403,
        refusedBy: 'role',
        role: verdict.role,
      },
      now,
    );
  }
  if (verdict.kind === 'root_mode_required') {
    return refuse(
      caller,
      action,
      resource,
      {
        error: new RootModeRequiredError(
          'System keys and system:* scopes need root mode: open it with POST /v1/root-mode (MFA required).',
          [{ field: 'key_type', message: 'requires an open root-mode elevation' }],
        ),
        status: 403,
        refusedBy: 'root_mode',
        role: verdict.role,
      },
      now,
    );
  }
  if (options.requireTenant) {
    const problem = await tenantProblem(resource, organization);
    if (problem) throw problem;
  }

  const warnings = outcome.warnings.map((r) => ({
    rule_id: r.id,
    source: r.source,
    message: ruleMessage(r),
  }));
  if (warnings.length) await auditWarnings(caller, action, resource, warnings, now);
  return { principal: caller.principal, bindings, role: verdict.role, elevated, warnings };
}

// ---- Helpers for routes about one key, and for listings --------------------------------------------

const DAY_MS = 86_400_000;

/** What creating `input` asks, for `authorize(caller, 'api_key:create', ...)`. */
export function createResource(input: CreateKeyInput, now: Date = new Date()): Resource {
  const expires =
    input.expires_at ??
    (input.expires_in_days ? new Date(now.getTime() + input.expires_in_days * DAY_MS).toISOString() : null);
  return {
    organization_id: input.organization_id,
    // The same default the key gets (api-keys.ts).
    workspace_id: input.key_type === 'workspace' ? (input.workspace_id ?? 'default') : null,
    key_type: input.key_type,
    system: requiresRootMode({ key_type: input.key_type, scopes: [...input.scopes] }),
    environment: input.environment,
    scopes: input.scopes,
    expires_at: expires,
  };
}

const notFound = (id: string) => `No API key with id ${JSON.stringify(id)}.`;

/** What a request about an existing key asks besides the key itself. */
export interface KeyRequest {
  /** The scopes the request sets (update); default: the key's own. */
  readonly scopes?: readonly string[];
  /** The expiry the request sets (update); absent when it sets none. */
  readonly expires_at?: string | null;
}

/**
 * `authorize` for a route about one key: 404 when the key does not exist or the caller may not
 * see it (so ids cannot be probed), 403 when it may see but not do this.
 */
export async function authorizeKey(
  caller: Actor,
  action: Action,
  id: string,
  request: KeyRequest = {},
  clock: Clock = systemClock,
): Promise<{ readonly key: ApiKeyItem; readonly decision: AccessDecision }> {
  const key = isKeyId(id) ? await getKey(id) : undefined;
  if (!key) {
    // Whether a key exists is itself something only a bound principal may learn.
    await requireBound(caller, clock);
    throw new NotFoundError(notFound(id));
  }
  const decision = await authorize(
    caller,
    action,
    {
      organization_id: key.organization_id,
      workspace_id: key.workspace_id ?? null,
      key_type: key.key_type,
      // A system scope can only be on a system key (api-keys.ts refuses others with a 400).
      system: requiresRootMode(key),
      environment: key.environment,
      scopes: request.scopes ?? key.scopes,
      ...(request.expires_at !== undefined ? { expires_at: request.expires_at } : {}),
      key,
    },
    { clock, hiddenAsNotFound: notFound(id) },
  );
  return { key, decision };
}

/**
 * `authorize` for a listing (`api_key:read`, or `audit:read` for an organization's feed): the
 * caller's reach narrowed to the filter. Unfiltered, a caller sees what its bindings reach (maybe
 * nothing); naming an organization or workspace outside its reach is a 403.
 */
export async function authorizeListing(
  caller: Actor,
  filter: { readonly organization_id?: string; readonly workspace_id?: string },
  clock: Clock = systemClock,
): Promise<{ readonly reach: KeyReach; readonly decision: AccessDecision }> {
  const bindings = await bindingsOf(caller);
  if (bindings.length === 0) return refuse(caller, 'api_key:read', {}, unboundRefusal(), clock());
  const reach = narrowReach(keyReach(bindings), filter.organization_id, filter.workspace_id);
  if (filter.organization_id !== undefined && reachIsEmpty(reach)) {
    return refuse(
      caller,
      'api_key:read',
      { organization_id: filter.organization_id },
      {
        error: new ForbiddenError('This principal may not list keys of this organization.', [
          {
            field: 'organization_id',
            message: 'outside the organizations and workspaces this principal is bound to',
          },
        ]),
        status: 403,
        refusedBy: 'out_of_reach',
        role: roleIn(bindings, filter.organization_id),
      },
      clock(),
    );
  }
  if (reachIsEmpty(reach)) {
    return {
      reach,
      decision: { principal: caller.principal, bindings, role: null, elevated: false, warnings: [] },
    };
  }
  // The policy and each organization's switch apply as for any read of its keys: checked for every
  // organization the listing spans (a super admin's unfiltered listing: the deploy rules only).
  const orgs = filter.organization_id !== undefined ? [filter.organization_id] : organizationsOf(reach);
  let decision: AccessDecision | undefined;
  for (const org of orgs)
    decision = await authorize(caller, 'api_key:read', listingTarget(reach, org), { clock });
  decision ??= await authorize(caller, 'api_key:read', { key_type: 'organization' }, { clock });
  return { reach: await withoutDisabled(reach), decision };
}

/** The organizations a reach spans (none for `all`: every organization). */
function organizationsOf(reach: KeyReach): string[] {
  if (reach.all) return [];
  return [...new Set([...reach.organizations, ...reach.workspaces.map((w) => w.organization_id)])].sort();
}

/** A target inside `reach` in `org`, so the role matrix sees what the caller may list there. */
function listingTarget(reach: KeyReach, org: string): Resource {
  if (reach.all || reach.organizations.includes(org))
    return { organization_id: org, key_type: 'organization' };
  const ws = reach.workspaces.find((w) => w.organization_id === org)?.workspace_ids[0];
  return { organization_id: org, key_type: 'workspace', workspace_id: ws ?? null };
}

/** Organizations with `apiKeys.enabled` off drop out of a multi-organization listing. */
async function withoutDisabled(reach: KeyReach): Promise<KeyReach> {
  if (reach.all) return reach;
  const orgs = organizationsOf(reach);
  const records = await Promise.all(orgs.map((o) => getOrganization(o)));
  const off = new Set(records.filter((r) => r && !r.api_keys_enabled).map((r) => r?.organization_id));
  if (off.size === 0) return reach;
  return {
    all: false,
    organizations: reach.organizations.filter((o) => !off.has(o)),
    workspaces: reach.workspaces.filter((w) => !off.has(w.organization_id)),
  };
}

/** The response body with `policy_warnings` when the decision carries any. */
export function withWarnings<T extends object>(
  body: T,
  decision: Pick<AccessDecision, 'warnings'>,
): T & { policy_warnings?: PolicyWarning[] } {
  return decision.warnings.length ? { ...body, policy_warnings: [...decision.warnings] } : body;
}
