/**
 * Roles, bindings and reach (functions/domain/access.ts, docs/tenancy.md), pure: how a caller's
 * ARN matches a binding (assumed-role sessions included), and what a role may see and do.
 */
import {
  type Binding,
  bindingMatches,
  decideRole,
  keyReach,
  narrowReach,
  principalCandidates,
  principalPatternMatches,
} from '../../functions/domain/access';

const ACCOUNT = '123456789012';
const session = (role: string, name: string) => `arn:aws:sts::${ACCOUNT}:assumed-role/${role}/${name}`;

describe('matching a caller to a binding', () => {
  it('knows an assumed-role session by its own ARN and by its role (path-less) ARN', () => {
    expect(principalCandidates(session('SecurityAdmins', 'alice'))).toEqual([
      session('SecurityAdmins', 'alice'),
      `arn:aws:iam::${ACCOUNT}:role/SecurityAdmins`,
    ]);
    expect(principalCandidates(`arn:aws:iam::${ACCOUNT}:user/bob`)).toEqual([
      `arn:aws:iam::${ACCOUNT}:user/bob`,
    ]);
  });

  it('a binding naming the role matches every session of that role, and no other role', () => {
    const binding = { principal: `arn:aws:iam::${ACCOUNT}:role/SecurityAdmins` };
    expect(bindingMatches(binding, session('SecurityAdmins', 'alice'))).toBe(true);
    expect(bindingMatches(binding, session('SecurityAdmins', 'ci-run-42'))).toBe(true);
    expect(bindingMatches(binding, session('SecurityAdminsX', 'alice'))).toBe(false);
    expect(bindingMatches(binding, `arn:aws:iam::${ACCOUNT}:user/SecurityAdmins`)).toBe(false);
  });

  it('a binding naming one session matches that session only', () => {
    const binding = { principal: session('SecurityAdmins', 'alice') };
    expect(bindingMatches(binding, session('SecurityAdmins', 'alice'))).toBe(true);
    expect(bindingMatches(binding, session('SecurityAdmins', 'mallory'))).toBe(false);
  });

  it('a pattern matches with `*` standing for any run of characters', () => {
    const sessions = { principal: `arn:aws:sts::${ACCOUNT}:assumed-role/SecurityAdmins/*` };
    expect(bindingMatches(sessions, session('SecurityAdmins', 'alice'))).toBe(true);
    expect(bindingMatches(sessions, session('Developers', 'alice'))).toBe(false);
    const roles = { principal: `arn:aws:iam::${ACCOUNT}:role/team-*` };
    expect(bindingMatches(roles, session('team-payments', 'bob'))).toBe(true);
    expect(bindingMatches(roles, session('ops', 'bob'))).toBe(false);
    // Literal characters stay literal: `.` is not a wildcard.
    expect(
      principalPatternMatches(`arn:aws:iam::${ACCOUNT}:user/a.b`, `arn:aws:iam::${ACCOUNT}:user/aXb`),
    ).toBe(false);
  });

  it('a role with a path is not in its sessions ARN, so its path ARN never matches a session', () => {
    const withPath = { principal: `arn:aws:iam::${ACCOUNT}:role/security/SecurityAdmins` };
    expect(bindingMatches(withPath, session('SecurityAdmins', 'alice'))).toBe(false);
  });
});

const bind = (over: Partial<Binding>): Binding => ({
  principal: 'p',
  role: 'member',
  organization_id: 'acme',
  workspace_ids: [],
  root_allowed: false,
  ...over,
});

describe('the role matrix', () => {
  const systemKey = { organization_id: 'acme', key_type: 'system' as const, system: true };

  it('lets a super admin change a system key only inside root mode', () => {
    const admin = [bind({ role: 'super_admin', organization_id: null, root_allowed: true })];
    expect(decideRole(admin, 'api_key:update', systemKey, false)).toEqual({
      kind: 'root_mode_required',
      role: 'super_admin',
    });
    expect(decideRole(admin, 'api_key:update', systemKey, true)).toEqual({
      kind: 'allow',
      role: 'super_admin',
    });
    expect(decideRole(admin, 'api_key:read', systemKey, false)).toEqual({
      kind: 'allow',
      role: 'super_admin',
    });
  });

  it('lets root mode open only for a super admin allowed root', () => {
    expect(
      decideRole([bind({ role: 'super_admin', organization_id: null })], 'root_mode:open', {}, false).kind,
    ).toBe('forbidden');
    expect(decideRole([bind({ role: 'org_owner' })], 'root_mode:open', {}, false).kind).toBe('forbidden');
  });

  it('takes the most permissive of several bindings', () => {
    const both = [bind({ role: 'auditor' }), bind({ role: 'org_owner', organization_id: 'beta' })];
    expect(
      decideRole(both, 'api_key:update', { organization_id: 'acme', key_type: 'organization' }, false),
    ).toEqual({
      kind: 'forbidden',
      role: 'auditor',
    });
    expect(
      decideRole(both, 'api_key:update', { organization_id: 'beta', key_type: 'organization' }, false),
    ).toEqual({
      kind: 'allow',
      role: 'org_owner',
    });
    expect(decideRole([], 'scope:read', {}, false)).toEqual({ kind: 'unbound' });
  });

  it('answers routes added later by verb: reads for readers, the rest for owners', () => {
    const auditor = [bind({ role: 'auditor' })];
    expect(decideRole(auditor, 'api:read', { organization_id: 'acme' }, false).kind).toBe('allow');
    expect(decideRole(auditor, 'api:create', { organization_id: 'acme' }, false).kind).toBe('forbidden');
    expect(decideRole(auditor, 'api:read', { organization_id: 'beta' }, false).kind).toBe('hidden');
    expect(
      decideRole([bind({ role: 'org_owner' })], 'api:create', { organization_id: 'acme' }, false).kind,
    ).toBe('allow');
  });
});

describe('reach', () => {
  it('is everything for a super admin, whole organizations and some workspaces for others', () => {
    expect(keyReach([bind({ role: 'super_admin', organization_id: null })])).toEqual({ all: true });
    const reach = keyReach([
      bind({ role: 'auditor' }),
      bind({ role: 'workspace_admin', organization_id: 'beta', workspace_ids: ['b1', 'b2'] }),
      bind({ role: 'workspace_admin', workspace_ids: ['a1'] }),
      bind({ role: 'member', organization_id: 'gamma' }),
    ]);
    expect(reach).toEqual({
      all: false,
      organizations: ['acme'],
      workspaces: [{ organization_id: 'beta', workspace_ids: ['b1', 'b2'] }],
    });
    expect(narrowReach(reach, 'beta', 'b2')).toEqual({
      all: false,
      organizations: [],
      workspaces: [{ organization_id: 'beta', workspace_ids: ['b2'] }],
    });
    expect(narrowReach(reach, 'gamma')).toEqual({ all: false, organizations: [], workspaces: [] });
  });
});
