/**
 * Limits through the management API (docs/management-api.md): set at create and by PATCH, shown on
 * every record with what the quota has left, refused with a 400 naming the field when they do not
 * fit together, and nothing written for a refused request.
 */
import { call, snapshot } from '../support/management';
import { useFreshTables } from '../support/tables';

let names: Record<string, string>;
const tables = () => Object.values(names);

beforeAll(async () => {
  names = await useFreshTables();
});

const create = (body: Record<string, unknown>) =>
  call('POST', '/v1/api-keys', { body: { name: 'limited', scopes: ['agents:read'], ...body } });

it('creates a key with a rate limit and window, and a quota that refills ("1h" is 3600 s)', async () => {
  const res = await create({
    rate_limit: 10,
    rate_limit_window_seconds: 1,
    remaining: 500,
    refill_amount: 100,
    refill_interval: '1h',
  });
  expect(res.status).toBe(201);
  expect(res.body).toMatchObject({
    rate_limit: 10,
    rate_limit_window_seconds: 1,
    remaining: 500,
    refill_amount: 100,
    refill_interval: 3600,
    last_used_at: null,
  });
  const got = await call('GET', '/v1/api-keys/{id}', { params: { id: res.body.id } });
  expect(got.body).toMatchObject({ rate_limit_window_seconds: 1, remaining: 500, refill_interval: 3600 });
  const usage = await call('GET', '/v1/api-keys/{id}/usage', { params: { id: res.body.id } });
  expect(usage.body).toMatchObject({
    window_seconds: 1,
    request_count: 0,
    remaining: 10,
    quota: { remaining: 500, allowance: 500, next_refill_at: expect.any(String) },
    last_used_at: null,
    totals: { allowed: 0, denied: 0, denied_by_reason: {} },
    series: { minutes: [], hours: [] },
  });
});

it('shows the default window of 60 s with a rate limit, and nothing without one', async () => {
  expect((await create({ rate_limit: 5 })).body).toMatchObject({
    rate_limit_window_seconds: 60,
    remaining: null,
  });
  expect((await create({})).body).toMatchObject({
    rate_limit: null,
    rate_limit_window_seconds: null,
    remaining: null,
    refill_amount: null,
    refill_interval: null,
  });
});

it('starts a quota with one refill when only the refill is given', async () => {
  expect((await create({ refill_amount: 20, refill_interval: 86_400 })).body).toMatchObject({
    remaining: 20,
  });
});

it.each([
  [{ rate_limit_window_seconds: 60 }, 'rate_limit_window_seconds'],
  [{ rate_limit: 5, rate_limit_window_seconds: 86_401 }, 'rate_limit_window_seconds'],
  [{ refill_amount: 5 }, 'refill_interval'],
  [{ remaining: 5, refill_interval: '1h' }, 'refill_amount'],
  [{ remaining: 5, refill_amount: 5, refill_interval: '1w' }, 'refill_interval'],
  [{ remaining: 5, refill_amount: 5, refill_interval: 59 }, 'refill_interval'],
  [{ remaining: -1 }, 'remaining'],
])('refuses %j at create with a 400 naming %s, writing nothing', async (body, field) => {
  const before = await snapshot(tables());
  const res = await create(body);
  expect(res.status).toBe(400);
  expect(res.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
  expect(await snapshot(tables())).toBe(before);
});

describe('PATCH', () => {
  it('sets, changes and removes limits; remaining starts the quota anew', async () => {
    const { body: key } = await create({});
    const patch = (body: unknown) => call('PATCH', '/v1/api-keys/{id}', { params: { id: key.id }, body });
    expect((await patch({ rate_limit: 3, rate_limit_window_seconds: 10 })).body).toMatchObject({
      rate_limit: 3,
      rate_limit_window_seconds: 10,
    });
    expect((await patch({ remaining: 7, refill_amount: 7, refill_interval: '1d' })).body).toMatchObject({
      remaining: 7,
      refill_amount: 7,
      refill_interval: 86_400,
    });
    expect((await patch({ refill_amount: 9 })).body).toMatchObject({ remaining: 7, refill_amount: 9 });
    expect((await patch({ rate_limit: null, remaining: null })).body).toMatchObject({
      rate_limit: null,
      rate_limit_window_seconds: null,
      remaining: null,
      refill_amount: null,
      refill_interval: null,
    });
  });

  it.each([
    [{ rate_limit_window_seconds: 30 }, 'rate_limit_window_seconds'],
    [{ refill_interval: 3600 }, 'refill_interval'],
    [{ refill_amount: 5 }, 'refill_amount'],
    [{ remaining: null, refill_amount: 5 }, 'remaining'],
  ])(
    'refuses %j on a key without those limits with a 400 naming %s, writing nothing',
    async (body, field) => {
      const { body: key } = await create({ remaining: 5 });
      const before = await snapshot(tables());
      const res = await call('PATCH', '/v1/api-keys/{id}', { params: { id: key.id }, body });
      expect(res.status).toBe(400);
      expect(res.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
      expect(await snapshot(tables())).toBe(before);
    },
  );
});
