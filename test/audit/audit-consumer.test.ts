/**
 * The audit consumer against real stream records from DynamoDB Local: keys are changed with the
 * real service code, the keys table's stream is read back and handed to the handler as Lambda would.
 */
import { DeleteItemCommand, DynamoDBClient, ScanCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import type { Actor } from '../../functions/domain/api-key';
import { handler } from '../../functions/handlers/audit-consumer';
import { changeKey, createKey, revokeKey, rotateKey } from '../../functions/services/api-keys';
import { dynamodb } from '../../functions/shared/clients';
import { deadLetterRecord } from '../../local/stream-records';
import { lambdaContext } from '../support/events';
import { streamReader } from '../support/stream';
import { useFreshTables } from '../support/tables';

const actor: Actor = {
  principal: 'arn:aws:iam::123456789012:user/admin',
  source_ip: '203.0.113.5',
  user_agent: 'aws-cli/2',
  request_id: 'req-1',
};
const eventBridge = mockClient(EventBridgeClient);
const published: PutEventsRequestEntry[] = [];
const db = new DynamoDBClient({});
let names: Record<string, string>;
let stream: ReturnType<typeof streamReader>;

async function auditItems(): Promise<Record<string, unknown>[]> {
  const out = await db.send(new ScanCommand({ TableName: names.AUDIT_TABLE_NAME, ConsistentRead: true }));
  return (out.Items ?? []).map((i) => unmarshall(i));
}

const run = (records: DynamoDBRecord[]) => handler({ Records: records }, lambdaContext);

async function newKey(name = 'consumer') {
  return createKey(
    {
      name,
      scopes: ['agents:read'],
      environment: 'development',
      organization_id: 'acme',
      key_type: 'workspace',
    } as never,
    actor,
  );
}

beforeAll(async () => {
  names = await useFreshTables();
  process.env.EVENT_BUS_NAME = 'latchkey';
  process.env.AUDIT_RETENTION_DAYS = '30';
  stream = streamReader(names.KEYS_TABLE_NAME as string);
});

beforeEach(async () => {
  eventBridge.reset();
  published.length = 0;
  eventBridge.on(PutEventsCommand).callsFake((input: { Entries: PutEventsRequestEntry[] }) => {
    published.push(...input.Entries);
    return { FailedEntryCount: 0, Entries: input.Entries.map(() => ({ EventId: 'x' })) };
  });
  await stream.next(); // start each test after everything earlier ones wrote
  for (const item of await auditItems()) {
    await db.send(
      new DeleteItemCommand({
        TableName: names.AUDIT_TABLE_NAME,
        Key: { pk: { S: String(item.pk) }, sk: { S: String(item.sk) } },
      }),
    );
  }
});

afterAll(() => {
  stream.close();
  db.destroy();
  eventBridge.restore();
});

describe('audit consumer', () => {
  it('writes exactly one entry per change and publishes created/rotated/revoked', async () => {
    const { record } = await newKey();
    await changeKey(record.id, { name: 'renamed' }, actor);
    await changeKey(record.id, { scopes: ['agents:read', 'agents:write'], description: 'more' }, actor);
    await rotateKey(record.id, 3600, actor);
    await revokeKey(record.id, actor);
    await revokeKey(record.id, actor); // repeating a revoke changes nothing, so audits nothing
    const records = await stream.next();
    expect(records).toHaveLength(5);

    expect(await run(records)).toEqual({ batchItemFailures: [] });
    const items = await auditItems();
    expect(items.map((i) => i.event_name).sort()).toEqual(
      [
        'admin.api_key_created',
        'admin.api_key_updated',
        'admin.api_key_scope_changed',
        'admin.api_key_rotated',
        'admin.api_key_deleted',
      ].sort(),
    );
    const scope = items.find((i) => i.event_name === 'admin.api_key_scope_changed');
    expect(scope).toMatchObject({
      pk: `KEY#${record.id}`,
      key_id: record.id,
      actor: actor.principal,
      organization_id: 'acme',
      workspace_id: 'default',
      source_ip: '203.0.113.5',
      user_agent: 'aws-cli/2',
      request_id: 'req-1',
      changes: {
        scopes: { before: ['agents:read'], after: ['agents:read', 'agents:write'] },
        description: { before: null, after: 'more' },
      },
    });
    for (const i of items) {
      expect(i.sk).toBe(`${i.timestamp}#${i.event_id}`);
      expect(i.ttl).toBe(Math.floor(Date.parse(String(i.timestamp)) / 1000) + 30 * 86_400);
    }
    expect(published.map((e) => e.DetailType)).toEqual(['ApiKeyCreated', 'ApiKeyRotated', 'ApiKeyRevoked']);
    const ids = published.map((e) => JSON.parse(e.Detail ?? '{}').event_id);
    expect(ids).toEqual(
      ['admin.api_key_created', 'admin.api_key_rotated', 'admin.api_key_deleted'].map(
        (n) => items.find((i) => i.event_name === n)?.event_id,
      ),
    );
    expect(published.every((e) => e.Source === 'latchkey' && e.EventBusName === 'latchkey')).toBe(true);

    // The same batch again (a retry): no entry is doubled; events repeat with the same ids (at least once).
    expect(await run(records)).toEqual({ batchItemFailures: [] });
    expect(await auditItems()).toHaveLength(5);
    expect(published.slice(3).map((e) => JSON.parse(e.Detail ?? '{}').event_id)).toEqual(ids);
  });

  it('reports a record whose write fails, writes the others, and a retry writes it once', async () => {
    const { record } = await newKey('flaky');
    await changeKey(record.id, { name: 'flaky-2' }, actor);
    await changeKey(record.id, { name: 'flaky-3' }, actor);
    const records = await stream.next();
    expect(records).toHaveLength(3);
    const victim = records[1]?.eventID;
    const realSend = dynamodb.send.bind(dynamodb) as (c: unknown) => Promise<unknown>;
    const spy = jest.spyOn(dynamodb, 'send').mockImplementation(((command: unknown) => {
      if (command instanceof PutCommand && command.input.Item?.event_id === victim) {
        return Promise.reject(
          Object.assign(new Error('Injected throttling'), { name: 'ThrottlingException' }),
        );
      }
      return realSend(command);
    }) as never);
    try {
      expect(await run(records)).toEqual({
        batchItemFailures: [{ itemIdentifier: records[1]?.dynamodb?.SequenceNumber }],
      });
    } finally {
      spy.mockRestore();
    }
    expect((await auditItems()).map((i) => i.event_id).sort()).toEqual(
      [records[0]?.eventID, records[2]?.eventID].sort(),
    );
    // Lambda retries from the failed record onward.
    expect(await run(records.slice(1))).toEqual({ batchItemFailures: [] });
    const items = await auditItems();
    expect(items).toHaveLength(3);
    expect(new Set(items.map((i) => i.event_id))).toEqual(new Set(records.map((r) => r.eventID)));
  });

  it('reports a poison record without blocking the records after it', async () => {
    const { record } = await newKey('poison');
    await changeKey(record.id, { name: 'after-poison' }, actor);
    const [good1, good2] = await stream.next();
    if (!good1 || !good2) throw new Error('expected two records');
    const poison: DynamoDBRecord = structuredClone(good1);
    poison.eventID = 'poison-1';
    if (poison.dynamodb) {
      poison.dynamodb.SequenceNumber = '1';
      delete poison.dynamodb.NewImage?.id;
    }
    const out = await run([poison, good1, good2]);
    expect(out).toEqual({ batchItemFailures: [{ itemIdentifier: '1' }] });
    expect((await auditItems()).map((i) => i.event_id).sort()).toEqual([good1.eventID, good2.eventID].sort());

    // A batch of nothing but poison fails as a whole, so Lambda retries, bisects and finally dead-letters it.
    await expect(run([poison])).rejects.toThrow(/All records failed/);
    const dlq = deadLetterRecord([poison], {
      requestId: 'r',
      functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:AuditConsumer',
      shardId: 'shard-1',
      attempts: 6,
      now: new Date(),
    });
    expect(dlq.DDBStreamBatchInfo).toMatchObject({
      startSequenceNumber: '1',
      endSequenceNumber: '1',
      batchSize: 1,
    });
    expect(JSON.stringify(dlq)).not.toMatch(/NewImage|OldImage|secret_hash/);
  });

  it('skips stream records that are not admin changes', async () => {
    const { record } = await newKey('skips');
    // A write that does not restamp last_change (e.g. last_used_at), then a REMOVE (TTL or maintenance).
    await db.send(
      new UpdateItemCommand({
        TableName: names.KEYS_TABLE_NAME,
        Key: { id: { S: record.id } },
        UpdateExpression: 'SET last_used_at = :t',
        ExpressionAttributeValues: { ':t': { S: new Date().toISOString() } },
      }),
    );
    await db.send(new DeleteItemCommand({ TableName: names.KEYS_TABLE_NAME, Key: { id: { S: record.id } } }));
    const records = await stream.next();
    expect(records.map((r) => r.eventName)).toEqual(['INSERT', 'MODIFY', 'REMOVE']);
    expect(await run(records)).toEqual({ batchItemFailures: [] });
    expect((await auditItems()).map((i) => i.event_name)).toEqual(['admin.api_key_created']);
    expect(published.map((e) => e.DetailType)).toEqual(['ApiKeyCreated']);
  });

  it('reports a record whose event cannot be published, and the retry does not double the entry', async () => {
    const { record } = await newKey('bus-down');
    const records = await stream.next();
    eventBridge.on(PutEventsCommand).rejectsOnce(new Error('bus unavailable'));
    expect(await run(records).catch((e: Error) => e.name)).toBe('FullBatchFailureError');
    expect(await auditItems()).toHaveLength(1);
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'x' }] });
    expect(await run(records)).toEqual({ batchItemFailures: [] });
    const items = await auditItems();
    expect(items).toHaveLength(1);
    expect(items[0]?.key_id).toBe(record.id);
  });
});
