/**
 * Usage that is real (docs/management-api.md#usage): after a scripted day of traffic through the
 * real authorizer (injected clock), the usage view shows the current window exactly, the minute and
 * hour series with refusals by reason, the totals, and `last_used_at` to the minute on get and list,
 * none of it written to the keys table.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { describeKey, listKeys } from '../../functions/services/api-keys';
import { keyUsage } from '../../functions/services/usage';
import { dynamodb } from '../../functions/shared/clients';
import { routeScopeMap } from '../../lib/declaration';
import { fakeDateOnly } from '../support/clock';
import { authorizerEvent } from '../support/events';
import { newTestKey } from '../support/keys';
import { useFreshTables } from '../support/tables';

process.env.LATCHKEY_ROUTE_SCOPES = JSON.stringify(routeScopeMap());
process.env.LATCHKEY_API_ENVIRONMENT = 'development';
const { handler } =
  require('../../functions/handlers/authorizer') as typeof import('../../functions/handlers/authorizer');

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
let names: Record<string, string>;

async function send(token: string, method = 'GET', at?: number) {
  if (at !== undefined) jest.setSystemTime(at);
  return handler(authorizerEvent(method, '/demo/agents', { token })).then(
    (r) => (r.policyDocument.Statement[0] as { Effect: string }).Effect,
    () => 'Unauthorized',
  );
}

/** Any request makes this instance write the minutes that are over. */
async function tick(at: number) {
  jest.setSystemTime(at);
  await handler(authorizerEvent('GET', '/demo/agents', { sourceIp: '192.0.2.1' })).catch(() => undefined);
}

beforeAll(async () => {
  names = await useFreshTables();
});
afterAll(() => jest.useRealTimers());

it('shows a scripted day of traffic: current window, series by minute and hour, totals, last use', async () => {
  // "Now" is a whole hour ahead, so every instant below is one no earlier test touched.
  const now = Math.ceil(Date.now() / HOUR) * HOUR + 30 * HOUR + 30 * MINUTE;
  const yesterday = now - 26 * HOUR;
  const earlier = now - 2 * HOUR;
  fakeDateOnly(yesterday - HOUR);
  const { key, record } = await newTestKey('metered', { rate_limit: 5, remaining: 100 });
  const listed = (await listKeys({ organization_id: 'acme' }, 100, undefined)).items.find(
    (k) => k.id === record.id,
  );
  expect(listed?.last_used_at).toBeNull();

  // Yesterday: 3 allowed (in the hourly series only: minutes cover the last 24 h).
  for (let i = 0; i < 3; i++) expect(await send(key, 'GET', yesterday + i * 1_000)).toBe('Allow');
  await tick(yesterday + MINUTE);
  // Two hours ago, one minute: 2 allowed and a route the key's scopes do not grant.
  expect(await send(key, 'GET', earlier + 1_000)).toBe('Allow');
  expect(await send(key, 'GET', earlier + 2_000)).toBe('Allow');
  expect(await send(key, 'POST', earlier + 3_000)).toBe('Deny');
  // The next minute: 6 requests on a limit of 5.
  const next = earlier + MINUTE;
  const effects: string[] = [];
  for (let i = 0; i < 6; i++) effects.push(await send(key, 'GET', next + i * 1_000));
  expect(effects).toEqual(['Allow', 'Allow', 'Allow', 'Allow', 'Allow', 'Deny']);
  await tick(next + MINUTE);
  // Now: 2 allowed in the current window, not yet flushed anywhere but the rate window.
  expect(await send(key, 'GET', now + 5_000)).toBe('Allow');
  expect(await send(key, 'GET', now + 20_000)).toBe('Allow');

  const usage = await keyUsage(record.id, () => new Date(now + 30_000));
  const iso = (ms: number) => new Date(ms).toISOString();
  expect(usage).toMatchObject({
    key_id: record.id,
    window_start: iso(now),
    window_seconds: 60,
    request_count: 2,
    rate_limit: 5,
    remaining: 3,
    reset_at: iso(now + MINUTE),
    // 100 - 12 allowed (the current window's included); the refused requests used none of it.
    quota: { remaining: 88, allowance: 100, next_refill_at: null },
    last_used_at: iso(now + 5_000),
  });
  expect(usage.series.minutes).toEqual([
    { start: iso(earlier), allowed: 2, denied: 1, denied_by_reason: { scope_missing: 1 } },
    { start: iso(next), allowed: 5, denied: 1, denied_by_reason: { rate_limited: 1 } },
  ]);
  expect(usage.series.hours).toEqual([
    { start: iso(yesterday - 30 * MINUTE), allowed: 3, denied: 0, denied_by_reason: {} },
    {
      start: iso(earlier - 30 * MINUTE),
      allowed: 7,
      denied: 2,
      denied_by_reason: { scope_missing: 1, rate_limited: 1 },
    },
  ]);
  expect(usage.totals).toMatchObject({
    allowed: 10,
    denied: 2,
    denied_by_reason: { scope_missing: 1, rate_limited: 1 },
    last_used_at: iso(now + 5_000),
  });

  // Last use to the minute on get and list, read from the counters table...
  jest.setSystemTime(now + 40_000);
  expect((await describeKey(record.id, false)).last_used_at).toBe(iso(now + 5_000));
  const page = await listKeys({ organization_id: 'acme' }, 100, undefined);
  expect(page.items.find((k) => k.id === record.id)).toMatchObject({
    last_used_at: iso(now + 5_000),
    remaining: 88,
  });
  // ...never written to the keys table, whose stream feeds the audit trail.
  const stored = await dynamodb.send(
    new GetCommand({ TableName: names.KEYS_TABLE_NAME, Key: { id: record.id } }),
  );
  expect(stored.Item?.version).toBe(1);
  expect(stored.Item).not.toHaveProperty('last_used_at');
});
