/**
 * Tenancy through the local gateway (docs/tenancy.md): unbound principals, assumed-role sessions
 * bound through their role or a pattern, root mode behind MFA, policy rules from the deploy
 * configuration and from an organization's own policy, the per-organization `apiKeys.enabled`, and
 * organizations, workspaces and bindings as records. Every refusal leaves the tables as they were
 * and one audit entry naming what refused it.
 */
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { dynamodb } from '../../functions/shared/clients';
import { routes } from '../../lib/declaration';
import {
  generateCredentials,
  LOCAL_ACCOUNT_ID,
  type LocalPrincipal,
  principal,
} from '../../local/credentials';
import type { LocalStack } from '../../local/stack';
import { send, sendSigned, startTestStack } from '../support/local-stack';
import { snapshot } from '../support/management';
import { seedTestTenancy } from '../support/tenancy';

let stack: LocalStack;
const p: Record<string, LocalPrincipal> = {};
let tables: string[];

const sessionOf = (name: string, role: string, session: string, extra: Partial<LocalPrincipal> = {}) => ({
  ...principal(name),
  arn: `arn:aws:sts::${LOCAL_ACCOUNT_ID}:assumed-role/${role}/${session}`,
  ...extra,
});

const DEPLOY_RULE = {
  id: 'no-sandbox-organization-keys',
  description: 'Organization keys are never sandbox keys.',
  effect: 'deny',
  actions: ['api_key:create'],
  when: { key_types: ['organization'], environments: ['sandbox'] },
};

beforeAll(async () => {
  const credentials = generateCredentials();
  const extra = [
    principal('stranger'),
    // A session of a role bound by its role ARN, one bound by a pattern, one of an unbound role.
    sessionOf('alice', 'OpsAdmins', 'alice'),
    sessionOf('bob', 'Auditors', 'bob-laptop'),
    sessionOf('eve', 'Contractors', 'eve'),
    // An org owner whose credentials carry MFA: MFA alone does not allow root mode.
    { ...principal('mfa-owner'), mfa: true },
  ];
  stack = await startTestStack({
    credentials: { ...credentials, principals: [...credentials.principals, ...extra] },
    trustForwardedFor: true,
    config: { policyRules: [DEPLOY_RULE] },
  });
  await seedTestTenancy({
    organizations: [{ organization_id: 'beta', name: 'Beta' }],
    bindings: [{ principal: extra[4]?.arn as string, role: 'org_owner', organization_id: 'acme' }],
  });
  for (const x of stack.credentials) p[x.name] = x;
  tables = [stack.tables.KEYS_TABLE_NAME as string, stack.tables.ADMIN_TABLE_NAME as string];
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

interface Reply {
  status: number;
  requestId: string;
  // biome-ignore lint/suspicious/noExplicitAny: bodies are checked field by field
  body: any;
}

async function call(
  who: LocalPrincipal,
  method: string,
  path: string,
  body?: unknown,
  from?: string,
): Promise<Reply> {
  const [route, query] = path.split('?');
  const res = await sendSigned(stack.url, {
    principal: who,
    method,
    path: route as string,
    query: query ?? '',
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(from ? { 'x-forwarded-for': from } : {}),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, requestId: String(res.headers['x-amzn-requestid']), body: res.json() };
}

async function auditOf(requestId: string): Promise<Record<string, unknown>[]> {
  const out = await dynamodb.send(
    new ScanCommand({
      TableName: stack.tables.AUDIT_TABLE_NAME,
      FilterExpression: 'request_id = :r',
      ExpressionAttributeValues: { ':r': requestId },
      ConsistentRead: true,
    }),
  );
  return out.Items ?? [];
}

/** `request` is refused with `status`, changes nothing, and is audited once, as `details` says. */
async function expectRefused(
  request: () => Promise<Reply>,
  status: number,
  details: Record<string, unknown>,
  eventName = 'admin.access_denied',
): Promise<Reply> {
  const before = await snapshot(tables);
  const reply = await request();
  expect([reply.status, reply.body]).toEqual([
    status,
    { error: expect.objectContaining({ code: expect.any(String) }) },
  ]);
  expect(await snapshot(tables)).toBe(before);
  const entries = await auditOf(reply.requestId);
  expect(entries).toEqual([
    expect.objectContaining({ event_name: eventName, details: expect.objectContaining(details) }),
  ]);
  return reply;
}

const newKey = (over: Record<string, unknown> = {}) => ({ name: 'k', scopes: ['agents:read'], ...over });

describe('an unbound principal', () => {
  it('gets 403 on every declared management route, audited', async () => {
    for (const r of routes.filter((x) => x.auth.type === 'iam')) {
      const path = r.path.replace(/\{[^}]+\}/g, 'AAAAAAAAAAAA');
      const before = await snapshot(tables);
      const reply = await call(
        p.stranger as LocalPrincipal,
        r.method,
        path,
        ['GET', 'DELETE'].includes(r.method) ? undefined : {},
      );
      if (reply.status !== 403)
        throw new Error(`${r.method} ${r.path}: ${reply.status} ${JSON.stringify(reply.body)}`);
      expect(await snapshot(tables)).toBe(before);
      // Refused in Lambda (audited), except the MFA route, which the gateway refuses first, as AWS does.
      if (!r.mfa) {
        expect(await auditOf(reply.requestId)).toEqual([
          expect.objectContaining({
            organization_id: 'platform',
            details: expect.objectContaining({
              refused_by: 'unbound',
              status: 403,
              route: `${r.method} ${r.path}`,
            }),
          }),
        ]);
      }
    }
  });
});

describe('assumed-role sessions', () => {
  it('match a binding of their role ARN, or a pattern; a session of another role matches neither', async () => {
    const admin = p['super-admin'] as LocalPrincipal;
    const byRole = await call(admin, 'PUT', '/v1/admin-bindings', {
      principal: `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/OpsAdmins`,
      role: 'org_owner',
      organization_id: 'acme',
    });
    expect(byRole.status).toBe(201);
    const byPattern = await call(admin, 'PUT', '/v1/admin-bindings', {
      principal: `arn:aws:sts::${LOCAL_ACCOUNT_ID}:assumed-role/Auditors/*`,
      role: 'auditor',
      organization_id: 'acme',
    });
    expect(byPattern.status).toBe(201);
    const created = await call(
      p.alice as LocalPrincipal,
      'POST',
      '/v1/api-keys',
      newKey({ organization_id: 'acme' }),
    );
    expect(created.status).toBe(201);
    expect(created.body.created_by).toBe(p.alice?.arn);
    expect((await call(p.bob as LocalPrincipal, 'GET', `/v1/api-keys/${created.body.id}`)).status).toBe(200);
    await expectRefused(
      () => call(p.bob as LocalPrincipal, 'DELETE', `/v1/api-keys/${created.body.id}`),
      403,
      { refused_by: 'role', role: 'auditor' },
    );
    await expectRefused(() => call(p.eve as LocalPrincipal, 'GET', '/v1/api-keys'), 403, {
      refused_by: 'unbound',
    });
  });
});

describe('root mode', () => {
  it('is refused without MFA by the gateway, as the resource policy does on AWS', async () => {
    const before = await snapshot(tables);
    const res = await call(p['org-owner'] as LocalPrincipal, 'POST', '/v1/root-mode', { reason: 'x' });
    expect(res.status).toBe(403);
    expect(res.body.message).toMatch(/explicit deny/);
    expect(await snapshot(tables)).toBe(before);
  });

  it('is refused (and audited) for a principal with MFA that is not allowed root', async () => {
    await expectRefused(
      () => call(p['mfa-owner'] as LocalPrincipal, 'POST', '/v1/root-mode', { reason: 'curious' }),
      403,
      { refused_by: 'role', action: 'root_mode:open' },
    );
  });

  it('opens with MFA, unlocks system keys, closes early; each step audited', async () => {
    const admin = p['super-admin'] as LocalPrincipal;
    const system = { name: 'ops', scopes: ['system:read'], key_type: 'system', organization_id: 'acme' };
    expect((await call(admin, 'GET', '/v1/root-mode')).body).toMatchObject({
      open: false,
      root_allowed: true,
    });
    const refused = await expectRefused(
      () => call(admin, 'POST', '/v1/api-keys', system),
      403,
      { refused_by: 'root_mode', role: 'super_admin' },
      'root_mode.required_for_api_key',
    );
    expect(refused.body.error.code).toBe('root_mode_required');

    const opened = await call(admin, 'POST', '/v1/root-mode', {
      reason: 'rotate the billing system key',
      duration_minutes: 5,
    });
    expect(opened.status).toBe(201);
    expect(opened.body).toMatchObject({ open: true, reason: 'rotate the billing system key' });
    expect(Date.parse(opened.body.expires_at) - Date.parse(opened.body.opened_at)).toBe(5 * 60_000);
    expect(await auditOf(opened.requestId)).toEqual([
      expect.objectContaining({ event_name: 'root_mode.opened' }),
    ]);
    // Only one elevation at a time.
    expect((await call(admin, 'POST', '/v1/root-mode', { reason: 'again' })).status).toBe(409);

    const created = await call(admin, 'POST', '/v1/api-keys', system);
    expect(created.status).toBe(201);
    expect(created.body.requires_root_mode).toBe(true);

    const closed = await call(admin, 'DELETE', '/v1/root-mode');
    expect(closed.body).toMatchObject({ open: false, closed_reason: 'closed' });
    expect(await auditOf(closed.requestId)).toEqual([
      expect.objectContaining({ event_name: 'root_mode.closed' }),
    ]);
    await expectRefused(
      () => call(admin, 'DELETE', `/v1/api-keys/${created.body.id}`),
      403,
      { refused_by: 'root_mode' },
      'root_mode.required_for_api_key',
    );
    // The platform feed shows root mode to super admins, and to nobody else.
    const feed = await call(admin, 'GET', '/v1/audit?organization_id=platform&limit=100');
    const names = (feed.body.items as { event_name: string }[]).map((e) => e.event_name);
    expect(names).toEqual(expect.arrayContaining(['root_mode.opened', 'root_mode.closed']));
    await expectRefused(
      () => call(p['org-owner'] as LocalPrincipal, 'GET', '/v1/audit?organization_id=platform'),
      403,
      { action: 'audit:read' },
    );
  });
});

describe('policy rules', () => {
  const owner = () => p['org-owner'] as LocalPrincipal;

  it('from the deploy configuration: refuse, naming the rule, and let other requests through', async () => {
    const body = newKey({ organization_id: 'acme', key_type: 'organization', environment: 'sandbox' });
    const refused = await expectRefused(() => call(owner(), 'POST', '/v1/api-keys', body), 403, {
      refused_by: 'policy',
      rule_id: DEPLOY_RULE.id,
      rule_source: 'deploy',
    });
    expect(refused.body.error).toMatchObject({
      code: 'policy_denied',
      details: [{ field: 'rule_id', message: DEPLOY_RULE.id }],
    });
    expect(refused.body.error.message).toContain(DEPLOY_RULE.id);
    expect((await call(owner(), 'POST', '/v1/api-keys', { ...body, environment: 'staging' })).status).toBe(
      201,
    );
    // Every organization's policy shows the deploy rules it is subject to.
    expect((await call(owner(), 'GET', '/v1/organizations/acme/policy')).body.deploy_rules).toEqual([
      DEPLOY_RULE,
    ]);
  });

  it("from an organization's policy, put by its owner (audited), on source IP ranges", async () => {
    const auditor = p.auditor as LocalPrincipal;
    const policy = {
      rules: [
        {
          id: 'office-network',
          effect: 'deny',
          actions: ['api_key:create', 'api_key:rotate'],
          when: { source_ip: { cidrs: ['10.0.0.0/8'], match: 'outside' } },
        },
        {
          id: 'no-system-scopes-for-owners',
          effect: 'deny',
          actions: ['api_key:create'],
          when: { roles: ['org_owner'], scopes: ['system:*'] },
        },
        {
          id: 'production-heads-up',
          effect: 'warn',
          actions: ['api_key:create'],
          when: { environments: ['production'] },
        },
      ],
    };
    await expectRefused(() => call(auditor, 'PUT', '/v1/organizations/acme/policy', policy), 403, {
      refused_by: 'role',
      role: 'auditor',
    });
    const put = await call(owner(), 'PUT', '/v1/organizations/acme/policy', policy, '10.0.0.5');
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ version: 1, rules: policy.rules });
    expect(await auditOf(put.requestId)).toEqual([
      expect.objectContaining({ event_name: 'admin.policy_changed', organization_id: 'acme' }),
    ]);
    // Members read the rules they live under.
    expect(
      (await call(p.member as LocalPrincipal, 'GET', '/v1/organizations/acme/policy')).body.version,
    ).toBe(1);

    const body = newKey({ organization_id: 'acme' });
    await expectRefused(() => call(owner(), 'POST', '/v1/api-keys', body, '203.0.113.9'), 403, {
      rule_id: 'office-network',
      rule_source: 'organization',
    });
    expect((await call(owner(), 'POST', '/v1/api-keys', body, '10.20.30.40')).status).toBe(201);

    // system:* for org owners: named by the rule, before the role matrix would refuse it anyway.
    const system = newKey({ organization_id: 'acme', key_type: 'system', scopes: ['system:read'] });
    await expectRefused(() => call(owner(), 'POST', '/v1/api-keys', system, '10.0.0.1'), 403, {
      rule_id: 'no-system-scopes-for-owners',
    });

    // A warn rule lets the request through and says so, in the response and the audit.
    const warned = await call(
      owner(),
      'POST',
      '/v1/api-keys',
      newKey({ organization_id: 'acme', environment: 'production' }),
      '10.0.0.1',
    );
    expect(warned.status).toBe(201);
    expect(warned.body.policy_warnings).toEqual([
      { rule_id: 'production-heads-up', source: 'organization', message: expect.any(String) },
    ]);
    expect(await auditOf(warned.requestId)).toEqual([
      expect.objectContaining({ event_name: 'admin.policy_warning' }),
    ]);
    const quiet = await call(
      owner(),
      'POST',
      '/v1/api-keys',
      newKey({ organization_id: 'acme' }),
      '10.0.0.1',
    );
    expect(quiet.body.policy_warnings).toBeUndefined();

    // A stale version is refused, so two owners cannot overwrite each other's rules unknowingly.
    expect(
      (await call(owner(), 'PUT', '/v1/organizations/acme/policy', { rules: [], version: 0 }, '10.0.0.5'))
        .status,
    ).toBe(409);
    expect(
      (await call(owner(), 'PUT', '/v1/organizations/acme/policy', { rules: [], version: 1 }, '10.0.0.5'))
        .status,
    ).toBe(200);
  });

  it('built-in: production keys need an expiry; the invariants are shown and cannot be switched off', async () => {
    const switched = await call(owner(), 'PUT', '/v1/organizations/acme/policy', {
      built_in: { production_expiry: { enabled: true, max_days: 30 } },
      rules: [],
    });
    expect(switched.status).toBe(200);
    expect(switched.body.built_in).toMatchObject({
      production_expiry: { enabled: true, max_days: 30, rule_id: 'built_in:production_expiry' },
      execute_requires_elevation: { enabled: false },
      revoked_keys_final: { enabled: true, locked: true },
      rotation_history: { enabled: true, locked: true },
    });
    const prod = newKey({ organization_id: 'acme', environment: 'production' });
    await expectRefused(() => call(owner(), 'POST', '/v1/api-keys', prod), 403, {
      rule_id: 'built_in:production_expiry',
      rule_source: 'built_in',
    });
    await expectRefused(() => call(owner(), 'POST', '/v1/api-keys', { ...prod, expires_in_days: 31 }), 403, {
      rule_id: 'built_in:production_expiry',
    });
    const ok = await call(owner(), 'POST', '/v1/api-keys', { ...prod, expires_in_days: 30 });
    expect(ok.status).toBe(201);
    // Removing the expiry of a production key is the same request in other words.
    await expectRefused(
      () => call(owner(), 'PATCH', `/v1/api-keys/${ok.body.id}`, { expires_at: null }),
      403,
      {
        rule_id: 'built_in:production_expiry',
      },
    );
    const locked = await call(owner(), 'PUT', '/v1/organizations/acme/policy', {
      built_in: { revoked_keys_final: { enabled: false } },
      rules: [],
    });
    expect(locked.status).toBe(400);
    expect(locked.body.error.details[0].field).toBe('built_in.revoked_keys_final.enabled');
    // Revoked keys cannot be restored, and the answer names the rule.
    await call(owner(), 'DELETE', `/v1/api-keys/${ok.body.id}`);
    const restore = await call(owner(), 'PATCH', `/v1/api-keys/${ok.body.id}`, { enabled: true });
    expect(restore.status).toBe(409);
    expect(restore.body.error.message).toContain('built_in:revoked_keys_final');
    await call(owner(), 'PUT', '/v1/organizations/acme/policy', { rules: [] });
  });

  it('built-in: execute permission needs an elevation', async () => {
    await call(owner(), 'PUT', '/v1/organizations/acme/policy', {
      built_in: { execute_requires_elevation: { enabled: true } },
      rules: [],
    });
    const body = newKey({ organization_id: 'acme', scopes: ['agents:execute'] });
    await expectRefused(() => call(owner(), 'POST', '/v1/api-keys', body), 403, {
      rule_id: 'built_in:execute_requires_elevation',
    });
    const admin = p['super-admin'] as LocalPrincipal;
    expect((await call(admin, 'POST', '/v1/root-mode', { reason: 'issue an execute key' })).status).toBe(201);
    try {
      expect((await call(admin, 'POST', '/v1/api-keys', body)).status).toBe(201);
    } finally {
      await call(admin, 'DELETE', '/v1/root-mode');
    }
    expect((await call(owner(), 'POST', '/v1/api-keys', newKey({ organization_id: 'acme' }))).status).toBe(
      201,
    );
    await call(owner(), 'PUT', '/v1/organizations/acme/policy', { rules: [] });
  });
});

describe('apiKeys.enabled per organization', () => {
  it('answers 503 on that organization only, keys keep validating, and only super admins switch it', async () => {
    const admin = p['super-admin'] as LocalPrincipal;
    const owner = p['org-owner'] as LocalPrincipal;
    const key = await call(owner, 'POST', '/v1/api-keys', newKey({ organization_id: 'acme' }));
    const beta = await call(admin, 'POST', '/v1/api-keys', newKey({ organization_id: 'beta' }));
    await expectRefused(
      () => call(owner, 'PATCH', '/v1/organizations/acme', { api_keys_enabled: false }),
      403,
      { refused_by: 'role' },
    );
    const off = await call(admin, 'PATCH', '/v1/organizations/acme', { api_keys_enabled: false });
    expect(off.body).toMatchObject({ api_keys_enabled: false, version: 2 });
    try {
      expect((await call(owner, 'GET', `/v1/api-keys/${key.body.id}`)).status).toBe(503);
      expect((await call(owner, 'GET', '/v1/api-keys')).status).toBe(503);
      expect((await call(admin, 'GET', `/v1/api-keys/${beta.body.id}`)).status).toBe(200);
      // The key itself still works on the protected API.
      const demo = await send(stack.url, {
        path: '/demo/agents',
        headers: { authorization: `Bearer ${key.body.key}` },
      });
      expect(demo.status).toBe(200);
    } finally {
      expect((await call(admin, 'PATCH', '/v1/organizations/acme', { api_keys_enabled: true })).status).toBe(
        200,
      );
    }
    expect((await call(owner, 'GET', `/v1/api-keys/${key.body.id}`)).status).toBe(200);
  });
});

describe('organizations, workspaces and bindings as records', () => {
  const admin = () => p['super-admin'] as LocalPrincipal;
  const owner = () => p['org-owner'] as LocalPrincipal;

  it('super admins create organizations (with a default workspace); names are checked', async () => {
    const created = await call(admin(), 'POST', '/v1/organizations', {
      organization_id: 'gamma',
      name: 'Gamma',
    });
    expect(created.status).toBe(201);
    expect(await auditOf(created.requestId)).toEqual([
      expect.objectContaining({ event_name: 'admin.organization_created', organization_id: 'gamma' }),
    ]);
    expect((await call(admin(), 'GET', '/v1/organizations/gamma/workspaces/default')).status).toBe(200);
    expect(
      (await call(admin(), 'POST', '/v1/organizations', { organization_id: 'gamma', name: 'Again' })).status,
    ).toBe(409);
    expect(
      (await call(admin(), 'POST', '/v1/organizations', { organization_id: 'platform', name: 'P' })).status,
    ).toBe(400);
    await expectRefused(
      () => call(owner(), 'POST', '/v1/organizations', { organization_id: 'delta', name: 'D' }),
      403,
      {
        action: 'organization:create',
      },
    );
    // An org owner sees its own organization only.
    const listed = await call(owner(), 'GET', '/v1/organizations');
    expect(listed.body.items.map((o: { organization_id: string }) => o.organization_id)).toEqual(['acme']);
    await expectRefused(() => call(owner(), 'GET', '/v1/organizations/gamma'), 403, {
      refused_by: 'out_of_reach',
    });
  });

  it('org owners create and archive workspaces; a key must name an existing, active one', async () => {
    expect(
      (
        await call(owner(), 'POST', '/v1/organizations/acme/workspaces', {
          workspace_id: 'acme-dev',
          name: 'Dev',
        })
      ).status,
    ).toBe(201);
    await expectRefused(
      () => call(owner(), 'POST', '/v1/organizations/beta/workspaces', { workspace_id: 'x', name: 'X' }),
      403,
      { refused_by: 'out_of_reach' },
    );
    const missing = await call(
      owner(),
      'POST',
      '/v1/api-keys',
      newKey({ organization_id: 'acme', workspace_id: 'nope' }),
    );
    expect([missing.status, missing.body.error.details]).toEqual([
      400,
      [expect.objectContaining({ field: 'workspace_id' })],
    ]);
    const noOrg = await call(admin(), 'POST', '/v1/api-keys', newKey({ organization_id: 'nowhere' }));
    expect([noOrg.status, noOrg.body.error.details]).toEqual([
      400,
      [expect.objectContaining({ field: 'organization_id' })],
    ]);
    const archived = await call(owner(), 'PATCH', '/v1/organizations/acme/workspaces/acme-dev', {
      status: 'archived',
    });
    expect(archived.body).toMatchObject({ status: 'archived', version: 2 });
    const refused = await call(
      owner(),
      'POST',
      '/v1/api-keys',
      newKey({ organization_id: 'acme', workspace_id: 'acme-dev' }),
    );
    expect([refused.status, refused.body.error.details[0].message]).toEqual([400, 'is archived']);
    // A workspace admin sees its own workspaces only.
    const mine = await call(
      p['workspace-admin'] as LocalPrincipal,
      'GET',
      '/v1/organizations/acme/workspaces',
    );
    expect(mine.body.items.map((w: { workspace_id: string }) => w.workspace_id)).toEqual(['acme-prod']);
  });

  it('super admins put and delete bindings (audited in the organization feed); others may not', async () => {
    const principalArn = `arn:aws:iam::${LOCAL_ACCOUNT_ID}:user/carol`;
    const bad = await call(admin(), 'PUT', '/v1/admin-bindings', {
      principal: principalArn,
      role: 'org_owner',
      organization_id: 'acme',
      root_allowed: true,
    });
    expect([bad.status, bad.body.error.details]).toEqual([
      400,
      [expect.objectContaining({ field: 'root_allowed' })],
    ]);
    await expectRefused(
      () =>
        call(owner(), 'PUT', '/v1/admin-bindings', {
          principal: principalArn,
          role: 'auditor',
          organization_id: 'acme',
        }),
      403,
      { action: 'binding:put' },
    );
    const put = await call(admin(), 'PUT', '/v1/admin-bindings', {
      principal: principalArn,
      role: 'workspace_admin',
      organization_id: 'acme',
      workspace_ids: ['acme-prod'],
    });
    expect(put.status).toBe(201);
    expect(await auditOf(put.requestId)).toEqual([
      expect.objectContaining({ event_name: 'admin.binding_put', organization_id: 'acme' }),
    ]);
    const replaced = await call(admin(), 'PUT', '/v1/admin-bindings', {
      principal: principalArn,
      role: 'auditor',
      organization_id: 'acme',
    });
    expect([replaced.status, replaced.body.role, replaced.body.id]).toEqual([200, 'auditor', put.body.id]);
    const listed = await call(
      admin(),
      'GET',
      `/v1/admin-bindings?principal=${encodeURIComponent(principalArn)}`,
    );
    expect(listed.body.items).toEqual([expect.objectContaining({ id: put.body.id, role: 'auditor' })]);
    const deleted = await call(admin(), 'DELETE', `/v1/admin-bindings/${put.body.id}`);
    expect(deleted.status).toBe(200);
    expect(await auditOf(deleted.requestId)).toEqual([
      expect.objectContaining({ event_name: 'admin.binding_deleted' }),
    ]);
    expect((await call(admin(), 'DELETE', `/v1/admin-bindings/${put.body.id}`)).status).toBe(404);
  });

  it('audit feeds follow reach: an org owner reads its own, not another organization’s', async () => {
    expect((await call(owner(), 'GET', '/v1/audit?organization_id=acme')).status).toBe(200);
    await expectRefused(() => call(owner(), 'GET', '/v1/audit?organization_id=beta'), 403, {
      action: 'audit:read',
    });
    await expectRefused(() => call(owner(), 'GET', '/v1/api-keys?organization_id=beta'), 403, {
      refused_by: 'out_of_reach',
    });
    // Reach and other filters together (DynamoDB refuses some filter shapes: keep them valid).
    const filtered = await call(
      p['workspace-admin'] as LocalPrincipal,
      'GET',
      '/v1/api-keys?environment=development&status=active&scope=agents:read',
    );
    expect(filtered.status).toBe(200);
    for (const k of filtered.body.items as { workspace_id: string }[])
      expect(k.workspace_id).toBe('acme-prod');
    const mixed = await call(
      p.alice as LocalPrincipal,
      'GET',
      '/v1/api-keys?status=active&organization_id=acme',
    );
    expect(mixed.status).toBe(200);
    // Two organizations in reach: one listing across both, through by_kind and the reach filter.
    const second = await call(p['super-admin'] as LocalPrincipal, 'PUT', '/v1/admin-bindings', {
      principal: `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/OpsAdmins`,
      role: 'auditor',
      organization_id: 'beta',
    });
    expect(second.status).toBe(201);
    const both = await call(p.alice as LocalPrincipal, 'GET', '/v1/api-keys?status=active&limit=100');
    expect(both.status).toBe(200);
    const orgs = new Set((both.body.items as { organization_id: string }[]).map((k) => k.organization_id));
    expect([...orgs].sort()).toEqual(['acme', 'beta']);
    const ws = await call(
      p['workspace-admin'] as LocalPrincipal,
      'GET',
      '/v1/audit?organization_id=acme&limit=100',
    );
    expect(ws.status).toBe(200);
    for (const e of ws.body.items as { workspace_id: string | null }[])
      expect(e.workspace_id).toBe('acme-prod');
  });
});
