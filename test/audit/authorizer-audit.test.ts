/**
 * What the authorizer records: every refusal as `admin.api_key_denied`, and a key's use at most once
 * per minute as `admin.api_key_used` with the count, without a write on the allowed path itself.
 */
import { DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { Actor } from '../../functions/domain/api-key';
import { createKey } from '../../functions/services/api-keys';
import { dynamodb } from '../../functions/shared/clients';
import { routeScopeMap } from '../../lib/declaration';
import { fakeDateOnly } from '../support/clock';
import { authorizerEvent } from '../support/events';
import { useFreshTables } from '../support/tables';

process.env.LATCHKEY_ROUTE_SCOPES = JSON.stringify(routeScopeMap());
// Imported after the env it reads at module load.
type Authorizer = typeof import('../../functions/handlers/authorizer');
const { handler } = require('../../functions/handlers/authorizer') as Authorizer;

const actor: Actor = { principal: 'arn:aws:iam::123456789012:user/admin' };
const db = new DynamoDBClient({});
let names: Record<string, string>;

async function partition(table: string, pk: string): Promise<Record<string, unknown>[]> {
  const out = await db.send(
    new QueryCommand({
      TableName: table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': { S: pk } },
      ConsistentRead: true,
    }),
  );
  return (out.Items ?? []).map((i) => unmarshall(i));
}
const audit = (pk: string) => partition(names.AUDIT_TABLE_NAME as string, pk);

async function newKey(scopes = ['agents:read']) {
  return createKey(
    {
      name: 'authz',
      scopes,
      environment: 'development',
      organization_id: 'acme',
      key_type: 'workspace',
    } as never,
    actor,
  );
}

const refused = (p: Promise<unknown>) => expect(p).rejects.toThrow(/^Unauthorized$/);
const effect = (r: Awaited<ReturnType<typeof handler>>) =>
  (r.policyDocument.Statement[0] as { Effect: string }).Effect;

const MINUTE = 60_000;

beforeAll(async () => {
  names = await useFreshTables();
});

afterAll(() => {
  jest.useRealTimers();
  db.destroy();
});

describe('denials', () => {
  afterEach(() => jest.useRealTimers());

  it('summarises refusals that name no key per source IP and minute, never in a real key’s history', async () => {
    const { record } = await newKey();
    const { formatToken, newKeyId, newSecret } = await import('../../functions/domain/token');
    const unknownId = newKeyId();
    const t = Math.ceil(Date.now() / MINUTE) * MINUTE + 3 * MINUTE;
    fakeDateOnly(t + 1_000);
    const from = (token?: string) =>
      refused(
        handler(
          authorizerEvent('GET', '/demo/agents', { sourceIp: '192.0.2.10', ...(token ? { token } : {}) }),
        ),
      );
    await from();
    await from('sk_dev_junk');
    await from(formatToken('development', unknownId, newSecret()));
    // A token built from the real key's public prefix: well formed, read, and the secret fails.
    await from(formatToken('development', record.id, newSecret()));
    // Nothing is written per refusal.
    expect(await audit('IP#192.0.2.10')).toEqual([]);
    expect(await audit(`KEY#${record.id}`)).toEqual([]);
    expect(await audit(`KEY#${unknownId}`)).toEqual([]);

    // The first request of a later minute writes the finished one.
    jest.setSystemTime(t + MINUTE + 1_000);
    await refused(handler(authorizerEvent('GET', '/demo/agents', { sourceIp: '192.0.2.99' })));
    const items = await audit('IP#192.0.2.10');
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({
      event_name: 'admin.api_key_denied_summary',
      actor: 'anonymous',
      source_ip: '192.0.2.10',
      user_agent: 'jest/1.0',
      timestamp: new Date(t).toISOString(),
      details: {
        count: 4,
        reasons: { missing_token: 1, malformed_token: 1, unknown_key: 1, wrong_secret: 1 },
        routes: ['GET /demo/agents'],
        window_start: new Date(t).toISOString(),
      },
    });
    const details = items[0]?.details as { key_prefixes: string[] } | undefined;
    expect(details?.key_prefixes.sort()).toEqual([record.key_prefix, `sk_dev_${unknownId}`].sort());
    expect(items[0]).not.toHaveProperty('organization_id');
    expect(items[0]).not.toHaveProperty('key_id');
    expect(await audit(`KEY#${record.id}`)).toEqual([]);
  });

  it('records a 403 with its reason, route and caller', async () => {
    const { key, record } = await newKey();
    const result = await handler(
      authorizerEvent('POST', '/demo/agents', { token: key, sourceIp: '198.51.100.20' }),
    );
    expect(effect(result)).toBe('Deny');
    const [entry] = await audit(`KEY#${record.id}`);
    expect(entry).toMatchObject({
      event_name: 'admin.api_key_denied',
      organization_id: 'acme',
      workspace_id: 'default',
      source_ip: '198.51.100.20',
      user_agent: 'jest/1.0',
      details: { reason: 'scope_missing', status: 403, route: 'POST /demo/agents' },
    });
  });

  it('still answers when the audit write fails', async () => {
    const { key, record } = await newKey();
    const table = process.env.AUDIT_TABLE_NAME;
    process.env.AUDIT_TABLE_NAME = 'no-such-table';
    try {
      expect(effect(await handler(authorizerEvent('POST', '/demo/agents', { token: key })))).toBe('Deny');
      await refused(handler(authorizerEvent('GET', '/demo/agents')));
    } finally {
      process.env.AUDIT_TABLE_NAME = table;
    }
    expect(await audit(`KEY#${record.id}`)).toEqual([]);
  });
});

describe('use, at most once per key per minute', () => {
  // A minute well after anything else in this file, so the per-environment counters start clean.
  const start = Math.ceil(Date.now() / MINUTE) * MINUTE + 10 * MINUTE;
  afterEach(() => jest.useRealTimers());

  it('counts allowed requests in memory and writes one entry with the count when the minute is over', async () => {
    const { key, record } = await newKey();
    fakeDateOnly(start + 5_000);
    // The key's first request in a minute moves its last use and records its source IP (once each).
    expect(effect(await handler(authorizerEvent('GET', '/demo/agents', { token: key })))).toBe('Allow');
    const sent: string[] = [];
    const realSend = dynamodb.send.bind(dynamodb) as (c: unknown) => Promise<unknown>;
    const spy = jest.spyOn(dynamodb, 'send').mockImplementation(((c: { constructor: { name: string } }) => {
      sent.push(c.constructor.name);
      return realSend(c);
    }) as never);
    try {
      for (let i = 0; i < 3; i++)
        expect(effect(await handler(authorizerEvent('GET', '/demo/agents', { token: key })))).toBe('Allow');
      // The allowed path read the key and wrote nothing.
      expect(sent).toEqual(['GetCommand', 'GetCommand', 'GetCommand']);
    } finally {
      spy.mockRestore();
    }
    expect(await audit(`KEY#${record.id}`)).toEqual([]);

    jest.setSystemTime(start + MINUTE + 1_000);
    expect(effect(await handler(authorizerEvent('GET', '/demo/agents', { token: key })))).toBe('Allow');
    const entries = await audit(`KEY#${record.id}`);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      event_name: 'admin.api_key_used',
      key_id: record.id,
      organization_id: 'acme',
      timestamp: new Date(start).toISOString(),
      details: { count: 4, window_start: new Date(start).toISOString() },
    });
    const counter = await dynamodb.send(
      new GetCommand({
        TableName: names.COUNTERS_TABLE_NAME,
        Key: { pk: `USAGE#${record.id}`, sk: `M#${new Date(start).toISOString()}` },
      }),
    );
    expect(counter.Item?.allowed).toBe(4);

    // Further requests in the new minute write nothing more until it, too, is over.
    await handler(authorizerEvent('GET', '/demo/agents', { token: key }));
    expect(await audit(`KEY#${record.id}`)).toHaveLength(1);
    jest.setSystemTime(start + 2 * MINUTE + 1_000);
    await handler(authorizerEvent('GET', '/demo/agents', { token: key }));
    const later = await audit(`KEY#${record.id}`);
    expect(later.map((e) => (e.details as { count: number }).count)).toEqual([4, 2]);
  });

  it('writes one entry per minute across authorizer instances, whose counts all reach the counter', async () => {
    const { key, record } = await newKey();
    let other: Authorizer | undefined;
    jest.isolateModules(() => {
      other = require('../../functions/handlers/authorizer') as Authorizer;
    });
    if (!other) throw new Error('no second instance');
    const t = start + 5 * MINUTE;
    fakeDateOnly(t);
    for (let i = 0; i < 2; i++) await handler(authorizerEvent('GET', '/demo/agents', { token: key }));
    for (let i = 0; i < 3; i++) await other.handler(authorizerEvent('GET', '/demo/agents', { token: key }));
    jest.setSystemTime(t + MINUTE);
    await Promise.all([
      handler(authorizerEvent('GET', '/demo/agents', { token: key })),
      other.handler(authorizerEvent('GET', '/demo/agents', { token: key })),
    ]);
    const entries = (await audit(`KEY#${record.id}`)).filter(
      (e) => e.timestamp === new Date(t).toISOString(),
    );
    expect(entries).toHaveLength(1);
    expect(entries[0]?.details).toMatchObject({ count: expect.any(Number) });
    expect((entries[0]?.details as { count: number } | undefined)?.count).toBeGreaterThanOrEqual(2);
    const counter = await dynamodb.send(
      new GetCommand({
        TableName: names.COUNTERS_TABLE_NAME,
        Key: { pk: `USAGE#${record.id}`, sk: `M#${new Date(t).toISOString()}` },
      }),
    );
    expect(counter.Item?.allowed).toBe(5);
  });
});
