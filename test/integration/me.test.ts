/**
 * `GET /v1/me` (docs/tenancy.md#who-am-i) for each role: the caller's own bindings (as the access
 * check loaded them, highest role first), its root-mode state in the shape `GET /v1/root-mode`
 * answers, nothing written, and an unbound principal refused like on every route.
 */
import type { LocalStack } from '../../local/stack';
import { ADMIN_ARN } from '../support/events';
import { startTestStack } from '../support/local-stack';
import { call, hasErrorShape, snapshot } from '../support/management';
import { seedTestTenancy } from '../support/tenancy';

let stack: LocalStack;
const arn = (name: string) => `arn:aws:iam::123456789012:user/me-${name}`;
const OWNER = arn('owner');
const WS_ADMIN = arn('ws-admin');
const AUDITOR = arn('auditor');
const MEMBER = arn('member');
const SEVERAL = arn('several');

beforeAll(async () => {
  stack = await startTestStack();
  await seedTestTenancy({
    bindings: [
      { principal: OWNER, role: 'org_owner', organization_id: 'acme' },
      {
        principal: WS_ADMIN,
        role: 'workspace_admin',
        organization_id: 'acme',
        workspace_ids: ['ws1', 'payments'],
      },
      { principal: AUDITOR, role: 'auditor', organization_id: 'acme' },
      { principal: MEMBER, role: 'member', organization_id: 'other' },
      { principal: SEVERAL, role: 'auditor', organization_id: 'acme' },
      { principal: SEVERAL, role: 'org_owner', organization_id: 'other' },
      // A pattern binding: the caller learns the binding it matched, under its own ARN.
      { principal: 'arn:aws:iam::123456789012:user/me-sev*', role: 'member', organization_id: 'fuzz' },
    ],
  });
});
afterAll(async () => {
  await stack?.stop();
});

const me = (userArn: string) => call('GET', '/v1/me', { userArn });
const tables = () => [stack.tables.ADMIN_TABLE_NAME as string, stack.tables.AUDIT_TABLE_NAME as string];
const closed = (principal: string, root_allowed = false) => ({
  principal,
  open: false,
  root_allowed,
  opened_at: null,
  expires_at: null,
  closed_at: null,
  closed_reason: null,
  reason: null,
  remaining_seconds: 0,
});

it.each([
  [
    'org owner',
    OWNER,
    [{ role: 'org_owner', organization_id: 'acme', workspace_ids: [], root_allowed: false }],
  ],
  [
    'workspace admin',
    WS_ADMIN,
    [
      {
        role: 'workspace_admin',
        organization_id: 'acme',
        workspace_ids: ['payments', 'ws1'],
        root_allowed: false,
      },
    ],
  ],
  [
    'auditor',
    AUDITOR,
    [{ role: 'auditor', organization_id: 'acme', workspace_ids: [], root_allowed: false }],
  ],
  ['member', MEMBER, [{ role: 'member', organization_id: 'other', workspace_ids: [], root_allowed: false }]],
  [
    'principal with several bindings',
    SEVERAL,
    [
      { role: 'org_owner', organization_id: 'other', workspace_ids: [], root_allowed: false },
      { role: 'auditor', organization_id: 'acme', workspace_ids: [], root_allowed: false },
      { role: 'member', organization_id: 'fuzz', workspace_ids: [], root_allowed: false },
    ],
  ],
])('answers a %s its own bindings and writes nothing', async (_label, principal, bindings) => {
  const before = await snapshot(tables());
  const res = await me(principal);
  expect(res.status).toBe(200);
  expect(res.body).toEqual({ principal, bindings, root_mode: closed(principal) });
  expect(await snapshot(tables())).toBe(before);
});

it('answers a super admin its binding and the same root-mode state GET /v1/root-mode does', async () => {
  let res = await me(ADMIN_ARN);
  expect(res.status).toBe(200);
  expect(res.body.principal).toBe(ADMIN_ARN);
  expect(res.body.bindings).toEqual([
    { role: 'super_admin', organization_id: null, workspace_ids: [], root_allowed: true },
  ]);
  expect(res.body.root_mode).toEqual(closed(ADMIN_ARN, true));

  const opened = await call('POST', '/v1/root-mode', {
    body: { reason: 'check /v1/me' },
    userArn: ADMIN_ARN,
  });
  expect(opened.status).toBe(201);
  res = await me(ADMIN_ARN);
  const state = await call('GET', '/v1/root-mode', { userArn: ADMIN_ARN });
  expect(res.body.root_mode).toMatchObject({ open: true, root_allowed: true, reason: 'check /v1/me' });
  // Same shape and facts (the remaining seconds may tick between the two calls).
  expect({ ...res.body.root_mode, remaining_seconds: 0 }).toEqual({ ...state.body, remaining_seconds: 0 });
  expect((await call('DELETE', '/v1/root-mode', { userArn: ADMIN_ARN })).status).toBe(200);
  expect((await me(ADMIN_ARN)).body.root_mode).toMatchObject({ open: false, closed_reason: 'closed' });
});

it('refuses an unbound principal with 403, like every route', async () => {
  const res = await me(arn('nobody'));
  expect(res.status).toBe(403);
  expect(hasErrorShape(res.body)).toBe(true);
  expect(res.body.error.code).toBe('forbidden');
});
