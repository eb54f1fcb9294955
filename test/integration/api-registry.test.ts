/**
 * Protected APIs as data (docs/protecting-apis.md), through the real management handlers on
 * DynamoDB Local: registering, replacing and reading registrations, the rules a registration must
 * follow (each refused with a 4xx naming the field, writing nothing), the audit entry every change
 * leaves, and keys given only scopes that exist.
 */
import { queryAudit } from '../../functions/repositories/audit-repository';
import { resolveApi } from '../../functions/services/api-targets';
import { TEST_ACCOUNT } from '../support/events';
import { call, snapshot } from '../support/management';
import { useFreshTables } from '../support/tables';
import { seedTestTenancy } from '../support/tenancy';

const ACME_OWNER = 'arn:aws:iam::123456789012:role/AcmeOwners';
const OTHER_OWNER = 'arn:aws:iam::123456789012:role/OtherOwners';
const ACME_AUDITOR = 'arn:aws:iam::123456789012:role/AcmeAuditors';
const as = (userArn: string) => (api: string, body: unknown) =>
  call('PUT', '/v1/apis/{api}', { params: { api }, body, userArn });

const definition = (name: string, extra: Record<string, unknown> = {}) => ({
  owner: 'payments-team',
  description: 'Payments',
  organization_id: 'acme',
  environment: 'production',
  scopes: [
    { scope: `${name}:read`, description: 'View payments', risk_level: 'low' },
    { scope: `${name}:write`, description: 'Make payments', risk_level: 'high' },
  ],
  routes: {
    [`GET /${name}`]: `${name}:read`,
    [`POST /${name}/{id}/refund`]: `${name}:write`,
    'GET /health': 'metrics:read',
  },
  ...extra,
});

const put = (api: string, body: unknown) => call('PUT', '/v1/apis/{api}', { params: { api }, body });
let tables: string[];

beforeAll(async () => {
  const names = await useFreshTables();
  tables = [
    names.APIS_TABLE_NAME as string,
    names.AUDIT_TABLE_NAME as string,
    names.KEYS_TABLE_NAME as string,
  ];
});

describe('registering an API', () => {
  it('registers (201), answers the registration, and lists it after the built-in one', async () => {
    const res = await put('payments', definition('payments'));
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      name: 'payments',
      owner: 'payments-team',
      organization_id: 'acme',
      environment: 'production',
      // Without accounts, only APIs in Latchkey's own account may use it.
      accounts: [TEST_ACCOUNT],
      built_in: false,
      version: 1,
      created_by: expect.stringContaining('arn:aws:iam::'),
    });
    expect(res.body.scopes).toEqual([
      {
        scope: 'payments:read',
        module: 'payments',
        permission: 'read',
        description: 'View payments',
        risk_level: 'low',
      },
      {
        scope: 'payments:write',
        module: 'payments',
        permission: 'write',
        description: 'Make payments',
        risk_level: 'high',
      },
    ]);
    expect((await call('GET', '/v1/apis/{api}', { params: { api: 'payments' } })).body).toEqual(res.body);
    const list = await call('GET', '/v1/apis');
    expect(list.status).toBe(200);
    expect(list.body.items.map((a: { name: string }) => a.name)).toEqual(['default', 'payments']);
    expect(list.body.items[0]).toMatchObject({ built_in: true, accounts: [TEST_ACCOUNT] });
  });

  it('leaves one audit entry per change, in the organization feed, with what changed', async () => {
    await put('ledger', definition('ledger'));
    const replaced = await put('ledger', definition('ledger', { accounts: [TEST_ACCOUNT, '222222222222'] }));
    expect(replaced.status).toBe(200);
    expect(replaced.body.version).toBe(2);
    // The same definition again changes nothing and leaves no entry.
    const again = await put('ledger', definition('ledger', { accounts: [TEST_ACCOUNT, '222222222222'] }));
    expect(again.status).toBe(200);
    expect(again.body.version).toBe(2);
    const feed = await queryAudit({ organization_id: 'acme' }, 100);
    const ledger = feed.items.filter((e) => e.api === 'ledger');
    expect(ledger.map((e) => e.event_name)).toEqual(['admin.api_updated', 'admin.api_registered']);
    expect(ledger[0]?.changes).toEqual({
      accounts: { before: [TEST_ACCOUNT], after: [TEST_ACCOUNT, '222222222222'] },
    });
    expect(ledger[0]?.pk).toBe('API#ledger');
    const listed = await call('GET', '/v1/audit', {
      query: { organization_id: 'acme', event_name: 'admin.api_updated' },
    });
    expect(listed.body.items.map((e: { api: string }) => e.api)).toContain('ledger');
  });

  it('keeps a module with the API that defined it: another API may not define its scopes', async () => {
    await put('invoices', definition('invoices'));
    const before = await snapshot(tables);
    const res = await put(
      'billing',
      definition('billing', {
        scopes: [{ scope: 'invoices:admin', description: 'x', risk_level: 'critical' }],
        routes: { 'GET /bills': 'invoices:admin' },
      }),
    );
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({
      code: 'module_taken',
      message: expect.stringContaining('invoices'),
    });
    expect(await snapshot(tables)).toBe(before);
  });

  it('gives a module to one API when two claim it at once; the others get 409', async () => {
    const claim = (api: string) =>
      put(
        api,
        definition(api, {
          scopes: [{ scope: 'contested:read', description: 'x', risk_level: 'low' }],
          routes: {},
        }),
      );
    const results = await Promise.all([claim('first'), claim('second'), claim('third')]);
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409]);
    const winner = ['first', 'second', 'third'][results.findIndex((r) => r.status === 201)];
    const listed = await call('GET', '/v1/apis', { query: { limit: '100' } });
    const owners = listed.body.items.filter((a: { scopes: { module: string }[] }) =>
      a.scopes.some((x) => x.module === 'contested'),
    );
    expect(owners.map((a: { name: string }) => a.name)).toEqual([winner]);
  });

  it.each([
    [
      'a module of the built-in catalog',
      'scopes.0.scope',
      { scopes: [{ scope: 'agents:read', description: 'x', risk_level: 'low' }] },
    ],
    [
      'a route needing a scope nobody defines',
      'routes.GET /nowhere',
      { routes: { 'GET /nowhere': 'nowhere:read' } },
    ],
    ['an ANY route', 'routes.ANY /orders', { routes: { 'ANY /orders': 'metrics:read' } }],
    [
      'a greedy segment before the end',
      'routes.GET /{proxy+}/x',
      { routes: { 'GET /{proxy+}/x': 'metrics:read' } },
    ],
    ['an account id that is not one', 'accounts.0', { accounts: ['12345'] }],
    [
      'a scope defined twice',
      'scopes.1.scope',
      {
        scopes: [
          { scope: 'twice:read', description: 'x', risk_level: 'low' },
          { scope: 'twice:read', description: 'y', risk_level: 'low' },
        ],
        routes: {},
      },
    ],
  ])('refuses %s with 400 naming %s, and writes nothing', async (_what, field, extra) => {
    const before = await snapshot(tables);
    const res = await put('refused', definition('refused', extra));
    expect(res.status).toBe(400);
    expect(res.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
    expect(await snapshot(tables)).toBe(before);
  });

  it('refuses to register the built-in name, and an API name that is not one', async () => {
    expect((await put('default', definition('dflt'))).status).toBe(400);
    const bad = await put('Not_An_Api', definition('x'));
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0].field).toBe('path.api');
    expect((await call('GET', '/v1/apis/{api}', { params: { api: 'nope' } })).status).toBe(404);
  });

  it('lets the authorizer see a change once its cache time has passed, not before', async () => {
    // As on AWS (the local stack caches nothing): the default, 30 s.
    process.env.LATCHKEY_API_CACHE_SECONDS = '30';
    await put('cached', definition('cached'));
    const t0 = Date.now();
    expect((await resolveApi('cached', t0))?.routes).toHaveProperty('GET /cached');
    await put('cached', definition('cached', { routes: { 'GET /v2/cached': 'cached:read' } }));
    expect((await resolveApi('cached', t0 + 1000))?.routes).toHaveProperty('GET /cached');
    expect((await resolveApi('cached', t0 + 31_000))?.routes).toEqual({ 'GET /v2/cached': 'cached:read' });
  });
});

describe('who may register (docs/tenancy.md)', () => {
  // The registrations and keys, untouched by a refusal (whose own audit entry is the access check's).
  const registrations = () => tables.filter((t) => !t.endsWith('-audit'));
  beforeAll(async () => {
    await seedTestTenancy({
      bindings: [
        { principal: ACME_OWNER, role: 'org_owner', organization_id: 'acme' },
        { principal: OTHER_OWNER, role: 'org_owner', organization_id: 'other' },
        { principal: ACME_AUDITOR, role: 'auditor', organization_id: 'acme' },
      ],
    });
  });

  it('lets an organization’s owners register its APIs, and not another organization’s', async () => {
    expect((await as(ACME_OWNER)('acme-orders', definition('acme-orders'))).status).toBe(201);
    const before = await snapshot(registrations());
    const foreign = await as(OTHER_OWNER)(
      'acme-orders',
      definition('acme-orders', { description: 'mine now' }),
    );
    expect(foreign.status).toBe(403);
    expect(await snapshot(registrations())).toBe(before);
  });

  it('does not let an owner move a registration out of another organization', async () => {
    const before = await snapshot(registrations());
    const moved = await as(OTHER_OWNER)(
      'acme-orders',
      definition('acme-orders', { organization_id: 'other' }),
    );
    expect(moved.status).toBe(403);
    expect(await snapshot(registrations())).toBe(before);
  });

  it('lets any bound principal read registrations, but not an auditor change one', async () => {
    const read = await call('GET', '/v1/apis/{api}', {
      params: { api: 'acme-orders' },
      userArn: ACME_AUDITOR,
    });
    expect(read.status).toBe(200);
    expect((await as(ACME_AUDITOR)('acme-orders', definition('acme-orders', { owner: 'x' }))).status).toBe(
      403,
    );
    const stranger = await call('GET', '/v1/apis', { userArn: 'arn:aws:iam::123456789012:user/stranger' });
    expect(stranger.status).toBe(403);
  });
});

describe('keys get only scopes that exist', () => {
  const create = (scopes: string[]) =>
    call('POST', '/v1/api-keys', {
      body: { name: 'k', scopes, organization_id: 'acme', environment: 'production' },
    });

  it('accepts a registered API’s scopes and the catalog’s', async () => {
    await put('shipping', definition('shipping'));
    const res = await create(['shipping:write', 'agents:read']);
    expect(res.status).toBe(201);
    expect(res.body.scopes).toEqual(['shipping:write', 'agents:read']);
  });

  it('refuses, with 400 naming each, a scope nobody defines or a module’s undefined permission; writes nothing', async () => {
    await put('parcels', definition('parcels'));
    const before = await snapshot(tables);
    const res = await create(['agents:read', 'parcels:admin', 'unheard:read']);
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual([
      { field: 'scopes.1', message: 'unknown scope "parcels:admin"' },
      { field: 'scopes.2', message: 'unknown scope "unheard:read"' },
    ]);
    expect(await snapshot(tables)).toBe(before);
  });

  it('refuses the same on PATCH', async () => {
    const created = await create(['agents:read']);
    const res = await call('PATCH', '/v1/api-keys/{id}', {
      params: { id: created.body.id },
      body: { scopes: ['unheard:write'] },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual([{ field: 'scopes.0', message: 'unknown scope "unheard:write"' }]);
  });

  it('no longer accepts a scope its API dropped (the module stays the API’s)', async () => {
    await put('returns', definition('returns'));
    await put(
      'returns',
      definition('returns', {
        scopes: [{ scope: 'returns:read', description: 'x', risk_level: 'low' }],
        routes: {},
      }),
    );
    expect((await create(['returns:write'])).status).toBe(400);
    const other = await put(
      'thief',
      definition('thief', {
        scopes: [{ scope: 'returns:write', description: 'x', risk_level: 'low' }],
        routes: {},
      }),
    );
    expect(other.status).toBe(409);
  });
});
