/**
 * A key used from an unusual number of source IPs (docs/audit-and-events.md#apikeysuspicious): the
 * authorizer notes it once per key and window, and the scheduled notifier turns the note into one
 * `admin.api_key_suspicious` entry and one `ApiKeySuspicious` event. Both run on the local stack
 * as their own roles, so a grant either lacks fails here as on AWS.
 */
import { DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { functions } from '../../lib/declaration';
import type { LocalStack } from '../../local/stack';
import { authorizerEvent } from '../support/events';
import { newTestKey } from '../support/keys';
import { startTestStack } from '../support/local-stack';

let stack: LocalStack;
const db = new DynamoDBClient({});

beforeAll(async () => {
  stack = await startTestStack({ config: { suspiciousSourceIps: { distinctIps: 3, windowMinutes: 60 } } });
});
afterAll(async () => {
  db.destroy();
  await stack?.stop();
});

const authorize = (token: string, sourceIp: string) =>
  stack.lambdas.invoke(
    functions.authorizer,
    authorizerEvent('GET', '/demo/agents', { token, sourceIp }),
  ) as Promise<{
    policyDocument: { Statement: { Effect: string }[] };
  }>;

it('raises ApiKeySuspicious and an audit entry once when a key is used from the threshold of source IPs', async () => {
  const { key, record } = await newTestKey('leaky');
  const quiet = await newTestKey('quiet');
  // The same IPs again, and a key used from fewer, raise nothing.
  for (const ip of ['198.51.100.1', '198.51.100.2', '198.51.100.1', '198.51.100.2']) {
    expect((await authorize(key, ip)).policyDocument.Statement[0]?.Effect).toBe('Allow');
    await authorize(quiet.key, ip);
  }
  await stack.lambdas.invoke(functions.suspicionNotifier, {});
  expect(stack.events().filter((e) => e['detail-type'] === 'ApiKeySuspicious')).toEqual([]);

  for (const ip of ['198.51.100.3', '198.51.100.4', '198.51.100.5']) await authorize(key, ip);
  const first = (await stack.lambdas.invoke(functions.suspicionNotifier, {})) as { notified: number };
  const again = (await stack.lambdas.invoke(functions.suspicionNotifier, {})) as { notified: number };
  expect([first.notified, again.notified]).toEqual([1, 0]);

  const events = stack.events().filter((e) => e['detail-type'] === 'ApiKeySuspicious');
  expect(events).toHaveLength(1);
  expect(events[0]?.detail).toMatchObject({
    key_id: record.id,
    key_prefix: record.key_prefix,
    name: 'leaky',
    organization_id: 'acme',
    distinct_source_ips: 3,
    sample_source_ips: ['198.51.100.1', '198.51.100.2', '198.51.100.3'],
  });
  const out = await db.send(
    new QueryCommand({
      TableName: stack.tables.AUDIT_TABLE_NAME,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': { S: `KEY#${record.id}` } },
      ConsistentRead: true,
    }),
  );
  const entries = (out.Items ?? [])
    .map((i) => unmarshall(i))
    .filter((e) => e.event_name === 'admin.api_key_suspicious');
  expect(entries).toHaveLength(1);
  expect(entries[0]).toMatchObject({
    event_id: (events[0]?.detail as { event_id?: string } | undefined)?.event_id,
    actor: 'latchkey:traffic-monitor',
    organization_id: 'acme',
    details: { distinct_source_ips: 3 },
  });
});
