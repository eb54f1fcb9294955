/**
 * `GET /v1/api-keys/overview` after a scripted day (injected clock: `Date` is faked, everything else
 * is real: DynamoDB Local, the keys table's stream, the stream consumer's aggregation, the
 * authorizer handler). The figures stay right after creates, changes, revokes and expiries (expiry
 * is time-based: no write happens at expiry), and replaying stream records changes nothing.
 *
 * Records go to `recordKeyStats`, the step the audit consumer runs for each record: the consumer's
 * other step publishes to the local bus, whose SigV4 check would refuse a request dated days away
 * from the SDK's clock. `test/e2e/analytics.test.ts` runs the consumer itself through the poller.
 */
import type { DynamoDBRecord } from 'aws-lambda';
import { formatToken, newSecret, parseToken } from '../../functions/domain/token';
import { recordKeyStats } from '../../functions/services/key-stats';
import type { LocalStack } from '../../local/stack';
import { fakeDateOnly } from '../support/clock';
import { authorizerEvent } from '../support/events';
import { startTestStack } from '../support/local-stack';
import { call, snapshot } from '../support/management';
import { streamReader } from '../support/stream';
import { seedTestTenancy } from '../support/tenancy';

let stack: LocalStack;
let stream: ReturnType<typeof streamReader>;
/** Every stream record seen so far, to replay them. */
const seen: DynamoDBRecord[] = [];

const at = (iso: string) => jest.setSystemTime(new Date(iso));

beforeAll(async () => {
  fakeDateOnly(new Date('2030-03-10T08:00:00.000Z'));
  // Keys of any environment may call the demo routes, so every test key can be used.
  stack = await startTestStack({ config: { demoApiEnvironment: null } });
  stream = streamReader(stack.tables.KEYS_TABLE_NAME as string);
});
afterAll(async () => {
  stream?.close();
  await stack?.stop();
  jest.useRealTimers();
});

/** Hands the stream's new records, in order, to the consumer's aggregation step. */
async function drain(): Promise<void> {
  const records = await stream.next();
  seen.push(...records);
  for (const r of records) await recordKeyStats(r);
}

async function create(body: Record<string, unknown>): Promise<{ id: string; key: string }> {
  const res = await call('POST', '/v1/api-keys', { body: { name: 'k', ...body } });
  expect(res.status).toBe(201);
  return { id: res.body.id, key: res.body.key };
}

async function overview(query: Record<string, string> = {}) {
  const res = await call('GET', '/v1/api-keys/overview', { query });
  expect(res.status).toBe(200);
  return res.body;
}

async function authorize(token: string, method = 'GET', resource = '/demo/agents'): Promise<string> {
  const { handler } = require('../../functions/handlers/authorizer') as {
    handler: (e: unknown) => Promise<{ policyDocument: { Statement: { Effect: string }[] } }>;
  };
  try {
    const result = await handler(authorizerEvent(method, resource, { token }));
    return result.policyDocument.Statement[0]?.Effect ?? 'none';
  } catch {
    return 'Unauthorized';
  }
}

interface ModuleRow {
  module: string;
  key_count: number;
  risk_level: string | null;
  last_used_at: string | null;
}
const moduleOf = (o: { by_module: ModuleRow[] }, name: string) => o.by_module.find((m) => m.module === name);

describe('overview after a scripted day', () => {
  const keys: Record<string, { id: string; key: string }> = {};

  it('counts creates by status, environment and module', async () => {
    keys.a = await create({
      environment: 'production',
      scopes: ['agents:read', 'agents:write'],
      organization_id: 'acme',
    });
    keys.b = await create({
      scopes: ['agents:read'],
      organization_id: 'acme',
      expires_at: '2030-03-10T10:00:00.000Z',
    });
    keys.c = await create({
      environment: 'staging',
      scopes: ['metrics:read'],
      organization_id: 'acme',
      expires_at: '2030-03-11T00:00:00.000Z',
    });
    keys.d = await create({ scopes: ['deployments:write'], organization_id: 'other' });
    keys.e = await create({
      scopes: ['agents:execute'],
      organization_id: 'acme',
      expires_at: '2030-03-10T12:00:00.000Z',
    });
    expect(
      (await call('PATCH', '/v1/api-keys/{id}', { params: { id: keys.e.id }, body: { enabled: false } }))
        .status,
    ).toBe(200);
    // Before the stream is consumed the aggregates know nothing yet.
    expect((await overview()).keys.total).toBe(0);
    await drain();

    const o = await overview();
    expect(o.keys).toEqual({ total: 5, active: 4, disabled: 1, expired: 0, revoked: 0 });
    expect(o.by_environment.production).toEqual({ total: 1, active: 1, disabled: 0, expired: 0, revoked: 0 });
    expect(o.by_environment.development).toEqual({
      total: 3,
      active: 2,
      disabled: 1,
      expired: 0,
      revoked: 0,
    });
    expect(o.by_environment.staging).toEqual({ total: 1, active: 1, disabled: 0, expired: 0, revoked: 0 });
    expect(moduleOf(o, 'agents')).toMatchObject({ key_count: 2, risk_level: 'medium', last_used_at: null });
    expect(moduleOf(o, 'metrics')).toMatchObject({ key_count: 1, risk_level: 'low' });
    expect(moduleOf(o, 'deployments')).toMatchObject({ key_count: 1, risk_level: 'medium' });
    expect(moduleOf(o, 'pipelines')).toMatchObject({ key_count: 0, risk_level: null });

    const acme = await overview({ organization_id: 'acme' });
    expect(acme.organization_id).toBe('acme');
    expect(acme.keys).toEqual({ total: 4, active: 3, disabled: 1, expired: 0, revoked: 0 });
    expect(moduleOf(acme, 'deployments')).toMatchObject({ key_count: 0 });
  });

  it('counts allowed requests per key and day, module use and refusals, from the authorizer', async () => {
    at('2030-03-10T08:00:10.000Z');
    for (let i = 0; i < 5; i++) expect(await authorize(keys.a?.key ?? '')).toBe('Allow');
    for (let i = 0; i < 2; i++) expect(await authorize(keys.b?.key ?? '')).toBe('Allow');
    expect(await authorize(keys.d?.key ?? '')).toBe('Deny'); // deployments:write only: scope_missing
    for (const junk of ['x', 'sk_live_nope', `${keys.a?.key.slice(0, -1)}!`])
      expect(await authorize(junk)).toBe('Unauthorized');
    const a = parseToken(keys.a?.key ?? '');
    expect(await authorize(formatToken('production', a?.id ?? '', newSecret()))).toBe('Unauthorized'); // wrong secret
    // Counted in memory; the first request of the next minute writes the finished one.
    expect((await overview()).most_used_keys.items).toEqual([]);
    at('2030-03-10T08:01:00.000Z');
    expect(await authorize(keys.a?.key ?? '')).toBe('Allow');

    const o = await overview();
    expect(o.most_used_keys).toEqual({
      day: '2030-03-10',
      items: [
        { key_id: keys.a?.id, key_prefix: a?.prefix, name: 'k', status: 'active', allowed: 5 },
        expect.objectContaining({ key_id: keys.b?.id, allowed: 2 }),
      ],
    });
    expect(moduleOf(o, 'agents')?.last_used_at).toBe('2030-03-10T08:00:00.000Z');
    expect(moduleOf(o, 'metrics')?.last_used_at).toBeNull();
    expect(o.failed_authentications).toEqual({
      from: '2030-03-09T09:00:00.000Z',
      to: '2030-03-10T08:01:00.000Z',
      total: 4,
      by_reason: { malformed_token: 3, wrong_secret: 1 },
    });
    expect(o.denied_requests).toMatchObject({
      total: 1,
      by_status: { 403: 1 },
      by_reason: { scope_missing: 1 },
    });

    // Per organization: the wrong secret named acme's key; the scope refusal was other's.
    const acme = await overview({ organization_id: 'acme' });
    expect(acme.failed_authentications).toMatchObject({ total: 1, by_reason: { wrong_secret: 1 } });
    expect(acme.denied_requests.total).toBe(0);
    expect(acme.most_used_keys.items.map((k: { key_id: string }) => k.key_id)).toEqual([
      keys.a?.id,
      keys.b?.id,
    ]);
    expect((await overview({ organization_id: 'other' })).most_used_keys.items).toEqual([]);

    // A day later the refusals are out of the last-24-hours window; the day's ranking stays readable.
    at('2030-03-11T08:30:00.000Z');
    const later = await overview({ day: '2030-03-10' });
    expect(later.failed_authentications.total).toBe(0);
    expect(later.most_used_keys.items).toHaveLength(2);
    expect((await overview()).most_used_keys).toEqual({ day: '2030-03-11', items: [] });
    at('2030-03-10T09:00:00.000Z');
  });

  it('expires keys at their expiry instant without any write', async () => {
    at('2030-03-10T09:59:59.999Z');
    expect((await overview()).keys).toMatchObject({ active: 4, expired: 0 });
    const tables = [stack.tables.KEYS_TABLE_NAME as string, stack.tables.COUNTERS_TABLE_NAME as string];
    const before = await snapshot(tables);
    at('2030-03-10T10:00:00.000Z');
    let o = await overview();
    expect(await snapshot(tables)).toBe(before);
    expect(o.keys).toEqual({ total: 5, active: 3, disabled: 1, expired: 1, revoked: 0 });
    expect(o.by_environment.development).toEqual({
      total: 3,
      active: 1,
      disabled: 1,
      expired: 1,
      revoked: 0,
    });
    expect(moduleOf(o, 'agents')).toMatchObject({ key_count: 1 });
    // The disabled key expires too: expired wins over disabled, as the key's own status says.
    at('2030-03-10T12:00:00.000Z');
    o = await overview();
    expect(o.keys).toEqual({ total: 5, active: 3, disabled: 0, expired: 2, revoked: 0 });
    expect((await call('GET', '/v1/api-keys/{id}', { params: { id: keys.e?.id ?? '' } })).body.status).toBe(
      'expired',
    );
  });

  it('moves keys on revokes and changes, including expired ones', async () => {
    at('2030-03-10T12:30:00.000Z');
    expect((await call('DELETE', '/v1/api-keys/{id}', { params: { id: keys.b?.id ?? '' } })).status).toBe(
      200,
    );
    expect(
      (
        await call('PATCH', '/v1/api-keys/{id}', {
          params: { id: keys.e?.id ?? '' },
          body: { expires_at: '2030-03-20T00:00:00.000Z', enabled: true },
        })
      ).status,
    ).toBe(200);
    await drain();
    const o = await overview();
    expect(o.keys).toEqual({ total: 5, active: 4, disabled: 0, expired: 0, revoked: 1 });
    expect(o.by_environment.development).toEqual({
      total: 3,
      active: 2,
      disabled: 0,
      expired: 0,
      revoked: 1,
    });
    expect(moduleOf(o, 'agents')).toMatchObject({ key_count: 2, risk_level: 'high' });
  });

  it('stays right across midnight and on later days (expiry-day buckets)', async () => {
    at('2030-03-10T23:59:59.999Z');
    expect((await overview()).keys).toMatchObject({ active: 4, expired: 0 });
    at('2030-03-11T00:00:00.000Z');
    expect((await overview()).keys).toEqual({ total: 5, active: 3, disabled: 0, expired: 1, revoked: 1 });
    expect((await overview()).by_environment.staging).toMatchObject({ active: 0, expired: 1 });
    at('2030-03-13T09:00:00.000Z');
    expect((await overview()).keys).toEqual({ total: 5, active: 3, disabled: 0, expired: 1, revoked: 1 });
    expect((await overview({ organization_id: 'acme' })).keys).toEqual({
      total: 4,
      active: 2,
      disabled: 0,
      expired: 1,
      revoked: 1,
    });
  });

  it('is idempotent: replaying every stream record, in batches or one by one, changes nothing', async () => {
    const before = await overview();
    const outcomes = [];
    for (const r of seen) outcomes.push(await recordKeyStats(r));
    expect(outcomes.every((o) => o === 'duplicate' || o === 'unchanged')).toBe(true);
    expect(outcomes.filter((o) => o === 'duplicate').length).toBeGreaterThan(0);
    // Out of order too: the newest first, then everything older.
    for (const r of [...seen].reverse())
      expect(['duplicate', 'unchanged']).toContain(await recordKeyStats(r));
    const after = await overview();
    expect(after.keys).toEqual(before.keys);
    expect(after.by_environment).toEqual(before.by_environment);
    expect(after.by_module).toEqual(before.by_module);
  });

  it("limits the overview and the export to the caller's reach (docs/tenancy.md)", async () => {
    const owner = 'arn:aws:iam::123456789012:user/acme-owner';
    const wsAdmin = 'arn:aws:iam::123456789012:user/acme-ws1-admin';
    await seedTestTenancy({
      bindings: [
        { principal: owner, role: 'org_owner', organization_id: 'acme' },
        { principal: wsAdmin, role: 'workspace_admin', organization_id: 'acme', workspace_ids: ['ws1'] },
      ],
    });
    const as = (userArn: string, path: string, query: Record<string, string> = {}) =>
      call('GET', path, { query, userArn });
    // An organization owner sees its organization's figures, not the registry's nor another's.
    expect((await as(owner, '/v1/api-keys/overview', { organization_id: 'acme' })).body.keys.total).toBe(4);
    expect((await as(owner, '/v1/api-keys/overview')).status).toBe(403);
    expect((await as(owner, '/v1/api-keys/overview', { organization_id: 'other' })).status).toBe(403);
    // A workspace admin sees no organization-wide figures.
    expect((await as(wsAdmin, '/v1/api-keys/overview', { organization_id: 'acme' })).status).toBe(403);
    // The export lists what the list would: the owner's organization only.
    const exported = await as(owner, '/v1/api-keys/export');
    expect(exported.status).toBe(200);
    expect(exported.body.items.length).toBe(4);
    expect(exported.body.items.every((k: { organization_id: string }) => k.organization_id === 'acme')).toBe(
      true,
    );
    expect((await as(owner, '/v1/api-keys/export', { organization_id: 'other' })).status).toBe(403);
  });

  it('refuses bad queries with 400 naming the field', async () => {
    for (const query of [
      { day: '2030-02-30' },
      { day: '2029-01-01' },
      { organization_id: '#x' },
      { extra: '1' },
    ] as Record<string, string>[]) {
      const res = await call('GET', '/v1/api-keys/overview', { query });
      expect(res.status).toBe(400);
      expect(res.body.error.details[0].field).toMatch(/^query/);
    }
  });
});
