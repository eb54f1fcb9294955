/**
 * The console hides the controls a role can never use (console/src/roles.ts, docs/console.md#roles)
 * by asking the API's role matrix (functions/domain/access.ts `decideRole`) about the caller's
 * bindings: here its answers must agree with the API's for every role, key and root-mode state, so
 * a control is never hidden from someone the API would allow, nor offered to someone it never would.
 */

import { type KeyTarget, type Me, type MyBinding, permissionsIn } from '../../console/src/roles';
import { type Action, type Binding, decideRole, type Target } from '../../functions/domain/access';

const P = 'arn:aws:iam::123456789012:user/someone';

const me = (bindings: MyBinding[], root: { open?: boolean; root_allowed?: boolean } = {}): Me => ({
  principal: P,
  bindings,
  root_mode: {
    principal: P,
    open: root.open ?? false,
    root_allowed: root.root_allowed ?? false,
    expires_at: null,
    remaining_seconds: 0,
    reason: null,
  },
});
const b = (
  role: MyBinding['role'],
  organization_id: string | null,
  workspace_ids: string[] = [],
): MyBinding => ({
  role,
  organization_id,
  workspace_ids,
  root_allowed: false,
});

const CALLERS: [string, Me][] = [
  ['member', me([b('member', 'acme')])],
  ['auditor', me([b('auditor', 'acme')])],
  ['workspace admin', me([b('workspace_admin', 'acme', ['ws1'])])],
  ['org owner', me([b('org_owner', 'acme')])],
  ['owner elsewhere, auditor here', me([b('org_owner', 'other'), b('auditor', 'acme')])],
  ['super admin', me([b('super_admin', null)])],
  [
    'super admin allowed root',
    me([{ ...b('super_admin', null), root_allowed: true }], { root_allowed: true }),
  ],
  [
    'super admin in root mode',
    me([{ ...b('super_admin', null), root_allowed: true }], { open: true, root_allowed: true }),
  ],
];

const KEYS: KeyTarget[] = [];
for (const organization_id of ['acme', 'other'])
  for (const [key_type, workspace_id] of [
    ['workspace', 'ws1'],
    ['workspace', 'ws2'],
    ['workspace', 'default'],
    ['organization', null],
    ['system', null],
  ] as const)
    KEYS.push({ organization_id, workspace_id, key_type, requires_root_mode: key_type === 'system' });

/** The API's answer, as "could this caller ever do it": allowed, or needs root mode it may open. */
function apiAllows(m: Me, action: Action, target: Target): boolean {
  const bindings: Binding[] = m.bindings.map((x) => ({
    ...x,
    principal: P,
    workspace_ids: [...x.workspace_ids],
  }));
  const v = decideRole(bindings, action, target, m.root_mode.open);
  return v.kind === 'allow' || (v.kind === 'root_mode_required' && m.root_mode.root_allowed);
}

describe.each(CALLERS)('%s', (_label, caller) => {
  const can = permissionsIn(caller, 'acme');

  it('may change (rotate, revoke, enable) exactly the keys the API lets it', () => {
    for (const key of KEYS) {
      const target: Target = {
        organization_id: key.organization_id,
        workspace_id: key.workspace_id,
        key_type: key.key_type,
        system: key.requires_root_mode,
      };
      for (const action of ['api_key:rotate', 'api_key:revoke', 'api_key:update'] as const)
        expect([key, action, can.mayChange(key)]).toEqual([key, action, apiAllows(caller, action, target)]);
    }
  });

  it('is offered to create where the API lets it, and to apply the policy only when it may put it', () => {
    for (const ws of ['ws1', 'ws2', 'default'])
      expect([ws, can.mayCreateIn(ws)]).toEqual([
        ws,
        apiAllows(caller, 'api_key:create', {
          organization_id: 'acme',
          workspace_id: ws,
          key_type: 'workspace',
        }),
      ]);
    expect(can.createTypes.includes('organization')).toBe(
      apiAllows(caller, 'api_key:create', {
        organization_id: 'acme',
        workspace_id: null,
        key_type: 'organization',
      }),
    );
    expect(can.createTypes.includes('workspace')).toBe(
      ['ws1', 'ws2', 'default'].some((ws) =>
        apiAllows(caller, 'api_key:create', {
          organization_id: 'acme',
          workspace_id: ws,
          key_type: 'workspace',
        }),
      ),
    );
    expect(can.mayPutPolicy).toBe(apiAllows(caller, 'policy:put', { organization_id: 'acme' }));
  });
});

it('the role shown is the highest binding for the organization, else super admin; unknown offers everything', () => {
  expect(permissionsIn(me([b('org_owner', 'other'), b('auditor', 'acme')]), 'acme').role).toBe('auditor');
  expect(permissionsIn(me([b('org_owner', 'other'), b('auditor', 'acme')]), 'other').role).toBe('org_owner');
  expect(permissionsIn(me([b('super_admin', null)]), 'acme').role).toBe('super_admin');
  expect(permissionsIn(me([b('member', 'other')]), 'acme').role).toBeNull();
  const unknown = permissionsIn(null, 'acme');
  expect([unknown.role, unknown.createTypes, unknown.mayPutPolicy]).toEqual([
    null,
    ['workspace', 'organization'],
    true,
  ]);
});
