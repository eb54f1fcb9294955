/**
 * Junk is cheap, and cooled down (docs/authorizer.md#junk-and-cool-down): refusals that identify no
 * key become one summary entry per source IP and minute, an IP that keeps presenting invalid tokens
 * is refused without any database read for a while, and that cool-down is audited once.
 */
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { formatToken, newKeyId, newSecret } from '../../functions/domain/token';
import { routeScopeMap } from '../../lib/declaration';
import { fakeDateOnly } from '../support/clock';
import { auditPartition, commandsOf } from '../support/dynamodb-reads';
import { authorizerEvent } from '../support/events';
import { newTestKey } from '../support/keys';
import { useFreshTables } from '../support/tables';

process.env.LATCHKEY_ROUTE_SCOPES = JSON.stringify(routeScopeMap());
process.env.LATCHKEY_API_ENVIRONMENT = 'development';
type Authorizer = typeof import('../../functions/handlers/authorizer');
const { handler } = require('../../functions/handlers/authorizer') as Authorizer;

const db = new DynamoDBClient({});
let names: Record<string, string>;
const MINUTE = 60_000;
const ATTACKER = '203.0.113.66';

async function allAudit(): Promise<Record<string, unknown>[]> {
  const out = await db.send(new ScanCommand({ TableName: names.AUDIT_TABLE_NAME, ConsistentRead: true }));
  return (out.Items ?? []).map((i) => unmarshall(i));
}

const auditOf = (pk: string) => auditPartition(names.AUDIT_TABLE_NAME as string, pk);

const answer = (token: string | undefined, sourceIp = ATTACKER, with_ = handler) =>
  with_(authorizerEvent('GET', '/demo/agents', { sourceIp, ...(token === undefined ? {} : { token }) })).then(
    (r) => ({ effect: (r.policyDocument.Statement[0] as { Effect: string }).Effect, result: r }),
    (e: Error) => ({ effect: e.message, result: undefined }),
  );

beforeAll(async () => {
  // The default policy (docs/configuration.md): 20 invalid tokens in 60 s start a 300 s cool-down.
  // No admin seed: this file counts every audit item, and the authorizer needs no tenancy records.
  names = await useFreshTables({}, { seed: false });
});
afterEach(() => jest.useRealTimers());
afterAll(() => db.destroy());

it('1,000 junk requests from one IP leave a handful of audit items, and none in the real key’s history', async () => {
  const { key, record } = await newTestKey('victim');
  const t = Math.ceil(Date.now() / MINUTE) * MINUTE + 2 * MINUTE;
  fakeDateOnly(t + 1_000);
  const junk = (i: number): string | undefined =>
    [
      undefined,
      'sk_dev_nonsense',
      formatToken('development', newKeyId(), newSecret()),
      // A token built from the victim's public prefix: well formed, read once, wrong secret.
      formatToken('development', record.id, newSecret()),
    ][i % 4];
  const effects = new Map<string, number>();
  let reads = 0;
  let coolingFrom = -1;
  for (let i = 0; i < 1000; i++) {
    const sent = await commandsOf(async () => {
      const { effect, result } = await answer(junk(i));
      effects.set(effect, (effects.get(effect) ?? 0) + 1);
      if (coolingFrom < 0 && result?.context?.reason === 'ip_cooling_down') coolingFrom = i;
    });
    reads += sent.filter((c) => c === 'GetCommand').length;
    // Once the IP is cooling down, its requests cost no database call at all.
    if (coolingFrom >= 0) expect(sent).toEqual([]);
  }
  // 20 invalid tokens (malformed, unknown id, wrong secret: 3 of every 4 requests) start the cool-down.
  expect(coolingFrom).toBe(27);
  expect(reads).toBeLessThanOrEqual(14);
  expect(effects.get('Unauthorized')).toBe(27);
  expect(effects.get('Deny')).toBe(973);

  // Even a valid key is refused from a cooled-down IP, without a read, saying when to retry.
  const valid = await commandsOf(async () => {
    const { effect, result } = await answer(key);
    expect(effect).toBe('Deny');
    expect(result?.principalId).toBe('anonymous');
    expect(result?.context).toEqual({ reason: 'ip_cooling_down', retryAfter: '300' });
  });
  expect(valid).toEqual([]);

  // The minute is written by the first request of a later one.
  jest.setSystemTime(t + MINUTE + 1_000);
  await answer(undefined, '198.51.100.200');
  const items = await allAudit();
  expect(items.map((i) => i.event_name).sort()).toEqual([
    'admin.api_key_denied_summary',
    'admin.source_ip_cooled_down',
  ]);
  const summary = items.find((i) => i.event_name === 'admin.api_key_denied_summary');
  expect(summary).toMatchObject({
    pk: `IP#${ATTACKER}`,
    source_ip: ATTACKER,
    details: {
      count: 1001,
      reasons: {
        missing_token: 7,
        malformed_token: 7,
        unknown_key: 7,
        wrong_secret: 6,
        ip_cooling_down: 974,
      },
    },
  });
  const coolDown = items.find((i) => i.event_name === 'admin.source_ip_cooled_down');
  expect(coolDown).toMatchObject({
    pk: `IP#${ATTACKER}`,
    details: { invalid_tokens: 20, window_seconds: 60, until: new Date(t + 1_000 + 300_000).toISOString() },
  });
  expect(await auditOf(`KEY#${record.id}`)).toEqual([]);

  // After the cool-down, the IP is served again.
  jest.setSystemTime(t + 1_000 + 300_000 + 1);
  expect((await answer(key)).effect).toBe('Allow');
});

it('audits a cool-down once however many authorizer instances cool the IP down', async () => {
  let other: Authorizer | undefined;
  jest.isolateModules(() => {
    other = require('../../functions/handlers/authorizer') as Authorizer;
  });
  if (!other) throw new Error('no second instance');
  const ip = '203.0.113.77';
  const t = Math.ceil(Date.now() / MINUTE) * MINUTE + 30 * MINUTE;
  fakeDateOnly(t + 1_000);
  for (const instance of [handler, other.handler]) {
    for (let i = 0; i < 20; i++) await answer('sk_dev_nonsense', ip, instance);
    expect((await answer('sk_dev_nonsense', ip, instance)).result?.context).toMatchObject({
      reason: 'ip_cooling_down',
    });
  }
  const entries = (await auditOf(`IP#${ip}`)).filter((e) => e.event_name === 'admin.source_ip_cooled_down');
  expect(entries).toHaveLength(1);
});
