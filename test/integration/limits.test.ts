/**
 * Rate limits and quotas (docs/authorizer.md#rate-limits-and-quotas) against DynamoDB Local: exact
 * under concurrency across authorizer instances in separate processes, one conditional write per
 * request and limit (none once this instance knows the counter is full), the Deny context the
 * gateway turns into `Retry-After`, the quota's refill with an injected clock, and the audit.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { changeKey, describeKey, revokeKey } from '../../functions/services/api-keys';
import { dynamodb } from '../../functions/shared/clients';
import { routeScopeMap } from '../../lib/declaration';
import { type AuthorizerProcesses, forkAuthorizers } from '../support/authorizer-processes';
import { fakeDateOnly } from '../support/clock';
import { auditPartition, commandsOf } from '../support/dynamodb-reads';
import { authorizerEvent } from '../support/events';
import { newTestKey, TEST_ACTOR } from '../support/keys';
import { useFreshTables } from '../support/tables';

process.env.LATCHKEY_ROUTE_SCOPES = JSON.stringify(routeScopeMap());
process.env.LATCHKEY_API_ENVIRONMENT = 'development';
type Authorizer = typeof import('../../functions/handlers/authorizer');
const { handler } = require('../../functions/handlers/authorizer') as Authorizer;

const db = new DynamoDBClient({});
let names: Record<string, string>;

const call = (token: string, sourceIp = '198.51.100.7') =>
  handler(authorizerEvent('GET', '/demo/agents', { token, sourceIp }));
const effect = (r: Awaited<ReturnType<typeof handler>>) =>
  (r.policyDocument.Statement[0] as { Effect: string }).Effect;

const auditOf = (keyId: string) => auditPartition(names.AUDIT_TABLE_NAME as string, `KEY#${keyId}`);

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

beforeAll(async () => {
  names = await useFreshTables();
});
afterEach(() => jest.useRealTimers());
afterAll(() => db.destroy());

describe('exact across authorizer instances in separate processes', () => {
  let authorizers: AuthorizerProcesses;
  beforeAll(async () => {
    authorizers = await forkAuthorizers(4);
  }, 60_000);
  afterAll(() => authorizers?.stop());

  it('admits exactly 50 of 200 simultaneous requests on a key limited to 50 per window', async () => {
    // An hour-long window, so the burst cannot straddle two windows.
    const { key, record } = await newTestKey('limited', { rate_limit: 50, rate_limit_window_seconds: 3600 });
    const result = await authorizers.burst({ token: key, count: 50 });
    expect(result).toMatchObject({ allowed: 50, denied: 150, unauthorized: 0 });
    expect(new Set(result.reasons)).toEqual(new Set(['rate_limited']));
    const start = new Date(Math.floor(Date.now() / HOUR) * HOUR).toISOString();
    const counter = await dynamodb.send(
      new GetCommand({
        TableName: names.COUNTERS_TABLE_NAME,
        Key: { pk: `USAGE#${record.id}`, sk: `W#${start}` },
      }),
    );
    expect(counter.Item?.count).toBe(50);
  });

  it('admits exactly the quota of 30 out of 120 simultaneous requests', async () => {
    const { key, record } = await newTestKey('quota', { remaining: 30 });
    const result = await authorizers.burst({ token: key, count: 30 });
    expect(result).toMatchObject({ allowed: 30, denied: 90, unauthorized: 0 });
    expect(new Set(result.reasons)).toEqual(new Set(['quota_exhausted']));
    expect((await describeKey(record.id, false)).remaining).toBe(0);
  });
});

describe('rate limit', () => {
  it('answers over the limit with a Deny whose context says rate_limited and when to retry', async () => {
    const t = Math.ceil(Date.now() / MINUTE) * MINUTE + 2 * MINUTE;
    fakeDateOnly(t + 15_000);
    const { key, record } = await newTestKey('two', { rate_limit: 2 });
    const first = await call(key);
    expect(effect(first)).toBe('Allow');
    expect(first.context).toMatchObject({
      rateLimit: '2',
      rateLimitRemaining: '1',
      rateLimitReset: String((t + MINUTE) / 1000),
    });
    expect(effect(await call(key))).toBe('Allow');
    const over = await call(key);
    expect(effect(over)).toBe('Deny');
    expect(over.principalId).toBe(record.id);
    expect(over.context).toEqual({ reason: 'rate_limited', retryAfter: '45' });
    // The next window admits again.
    jest.setSystemTime(t + MINUTE + 1_000);
    expect(effect(await call(key))).toBe('Allow');
    // Each refusal of the real key is its own audit entry.
    const denied = (await auditOf(record.id)).filter((e) => e.event_name === 'admin.api_key_denied');
    expect(denied).toHaveLength(1);
    expect(denied[0]?.details).toMatchObject({ reason: 'rate_limited', status: 403 });
  });

  it('makes one conditional write per request, and none once it knows the window is full', async () => {
    const t = Math.ceil(Date.now() / MINUTE) * MINUTE + 10 * MINUTE;
    fakeDateOnly(t + 1_000);
    const { key } = await newTestKey('writes', { rate_limit: 3 });
    // The key's first request in the minute also moves its last use and records its source IP.
    expect(effect(await call(key))).toBe('Allow');
    expect(await commandsOf(() => call(key))).toEqual(['GetCommand', 'UpdateCommand']);
    expect(await commandsOf(() => call(key))).toEqual(['GetCommand', 'UpdateCommand']);
    // Refused by the store: the count stays 3.
    expect(await commandsOf(() => call(key))).toEqual(['GetCommand', 'UpdateCommand', 'PutCommand']);
    // Known full here: no counter write, only the denial's audit entry.
    expect(await commandsOf(() => call(key))).toEqual(['GetCommand', 'PutCommand']);
  });

  it('counts nothing for a key without limits', async () => {
    const t = Math.ceil(Date.now() / MINUTE) * MINUTE + 20 * MINUTE;
    fakeDateOnly(t + 1_000);
    const { key } = await newTestKey('unlimited');
    await call(key);
    expect(await commandsOf(() => call(key))).toEqual(['GetCommand']);
  });

  it('follows a PATCH of the limit at once', async () => {
    const t = Math.ceil(Date.now() / MINUTE) * MINUTE + 30 * MINUTE;
    fakeDateOnly(t + 1_000);
    const { key, record } = await newTestKey('raised', { rate_limit: 1 });
    expect(effect(await call(key))).toBe('Allow');
    expect(effect(await call(key))).toBe('Deny');
    await changeKey(record.id, { rate_limit: 3 }, TEST_ACTOR);
    expect(effect(await call(key))).toBe('Allow');
    await changeKey(record.id, { rate_limit: null }, TEST_ACTOR);
    expect(effect(await call(key))).toBe('Allow');
    expect((await describeKey(record.id, false)).rate_limit_window_seconds).toBeNull();
  });
});

describe('quota', () => {
  it('is refused when exhausted, audited, and refilled by the clock alone', async () => {
    const t = Math.ceil(Date.now() / HOUR) * HOUR + 2 * HOUR;
    fakeDateOnly(t);
    const { key, record } = await newTestKey('metered', {
      remaining: 3,
      refill_amount: 2,
      refill_interval: 3600,
    });
    expect(record).toMatchObject({ remaining: 3, refill_amount: 2, refill_interval: 3600 });
    jest.setSystemTime(t + 10 * MINUTE);
    for (let i = 0; i < 3; i++) expect(effect(await call(key))).toBe('Allow');
    const out = await call(key);
    expect(effect(out)).toBe('Deny');
    expect(out.context).toEqual({ reason: 'quota_exhausted', retryAfter: String(50 * 60) });
    expect((await describeKey(record.id, false)).remaining).toBe(0);
    const denied = (await auditOf(record.id)).filter((e) => e.event_name === 'admin.api_key_denied');
    expect(denied.map((e) => (e.details as { reason: string }).reason)).toEqual(['quota_exhausted']);

    // An hour after the quota was set: refilled to 2, with nobody acting.
    jest.setSystemTime(t + HOUR + 1_000);
    expect((await describeKey(record.id, false)).remaining).toBe(2);
    expect(effect(await call(key))).toBe('Allow');
    expect(effect(await call(key))).toBe('Allow');
    expect(effect(await call(key))).toBe('Deny');
  });

  it('without a refill stays exhausted, with no Retry-After; a PATCH of remaining starts it anew', async () => {
    const { key, record } = await newTestKey('once', { remaining: 1 });
    expect(effect(await call(key))).toBe('Allow');
    const out = await call(key);
    expect(out.context).toEqual({ reason: 'quota_exhausted', retryAfter: '' });
    const patched = await changeKey(record.id, { remaining: 2 }, TEST_ACTOR);
    expect(patched.remaining).toBe(2);
    expect(effect(await call(key))).toBe('Allow');
    expect((await describeKey(record.id, false)).remaining).toBe(1);
  });

  it('with a rate limit too: a rate-limited request does not use the quota', async () => {
    const t = Math.ceil(Date.now() / MINUTE) * MINUTE + 40 * MINUTE;
    fakeDateOnly(t + 1_000);
    const { key, record } = await newTestKey('both', { rate_limit: 1, remaining: 5 });
    expect(effect(await call(key))).toBe('Allow');
    expect((await call(key)).context).toMatchObject({ reason: 'rate_limited' });
    expect((await describeKey(record.id, false)).remaining).toBe(4);
  });

  it('refuses a quota change that would move the refill schedule without a new remaining, writing nothing', async () => {
    const { record } = await newTestKey('schedule', {
      remaining: 5,
      refill_amount: 5,
      refill_interval: 86_400,
    });
    await expect(changeKey(record.id, { refill_interval: 3600 }, TEST_ACTOR)).rejects.toMatchObject({
      details: [{ field: 'refill_interval', message: expect.stringContaining('remaining') }],
    });
    const after = await describeKey(record.id, false);
    expect(after).toMatchObject({ remaining: 5, refill_interval: 86_400 });
    expect(after.updated_at).toBe(record.updated_at);
  });
});

describe('the in-memory key cache (authorizerKeyCacheSeconds)', () => {
  afterEach(() => {
    process.env.LATCHKEY_KEY_CACHE_SECONDS = '0';
  });

  it('saves reads, keeps limits exact, and delays a revocation by at most its length', async () => {
    process.env.LATCHKEY_KEY_CACHE_SECONDS = '5';
    const t = Math.ceil(Date.now() / MINUTE) * MINUTE + 50 * MINUTE;
    fakeDateOnly(t + 1_000);
    const { key, record } = await newTestKey('cached', { rate_limit: 2 });
    expect(effect(await call(key))).toBe('Allow');
    // Read once: later requests count (one conditional write each) without reading the key.
    expect(await commandsOf(() => call(key))).toEqual(['UpdateCommand']);
    expect(effect(await call(key))).toBe('Deny');
    jest.setSystemTime(t + MINUTE + 1_000);
    expect(effect(await call(key))).toBe('Allow');
    await revokeKey(record.id, TEST_ACTOR);
    // The copy read at t + 61 s serves until t + 66 s: the revocation delay this setting buys.
    jest.setSystemTime(t + MINUTE + 5_000);
    expect(effect(await call(key))).toBe('Allow');
    jest.setSystemTime(t + MINUTE + 6_001);
    expect((await call(key)).context).toEqual({ reason: '', retryAfter: '' });
  });

  it('is off by default: a revocation applies to the very next request', async () => {
    const { key, record } = await newTestKey('uncached');
    expect(effect(await call(key))).toBe('Allow');
    await revokeKey(record.id, TEST_ACTOR);
    expect(effect(await call(key))).toBe('Deny');
  });
});
