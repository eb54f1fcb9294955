/**
 * The audit consumer's error paths that need an injected failure: a DynamoDB write that throttles
 * and an EventBridge publish that fails. Everything else is real, as in `audit-consumer.test.ts`:
 * stream records from DynamoDB Local, writes to DynamoDB Local, events on the local stack's bus.
 * Only the one failing call is faked, and only for as long as the case needs it (SPEC §9).
 */
import { DeleteItemCommand, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import type { Actor } from '../../functions/domain/api-key';
import { handler } from '../../functions/handlers/audit-consumer';
import { changeKey, createKey } from '../../functions/services/api-keys';
import { dynamodb } from '../../functions/shared/clients';
import type { LocalEvent } from '../../local/eventbridge';
import type { LocalStack } from '../../local/stack';
import { lambdaContext } from '../support/events';
import { startTestStack } from '../support/local-stack';
import { streamReader } from '../support/stream';

const actor: Actor = {
  principal: 'arn:aws:iam::123456789012:user/admin',
  source_ip: '203.0.113.5',
  user_agent: 'aws-cli/2',
  request_id: 'req-1',
};
let stack: LocalStack;
let db: DynamoDBClient;
let stream: ReturnType<typeof streamReader>;

async function auditItems(): Promise<Record<string, unknown>[]> {
  const out = await db.send(
    new ScanCommand({ TableName: stack.tables.AUDIT_TABLE_NAME, ConsistentRead: true }),
  );
  return (out.Items ?? []).map((i) => unmarshall(i));
}

/** What the local bus received about one key, in order. */
const eventsFor = (keyId: string): LocalEvent[] =>
  stack.events().filter((e) => (e.detail as { key_id?: string }).key_id === keyId);

const run = (records: DynamoDBRecord[]) => handler({ Records: records }, lambdaContext);

async function newKey(name: string) {
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
  stack = await startTestStack();
  db = new DynamoDBClient({});
  stream = streamReader(stack.tables.KEYS_TABLE_NAME as string);
});

beforeEach(async () => {
  await stream.next(); // start each test after everything earlier ones wrote
  for (const item of await auditItems()) {
    await db.send(
      new DeleteItemCommand({
        TableName: stack.tables.AUDIT_TABLE_NAME,
        Key: { pk: { S: String(item.pk) }, sk: { S: String(item.sk) } },
      }),
    );
  }
});

afterAll(async () => {
  stream?.close();
  db?.destroy();
  await stack?.stop();
});

describe('audit consumer with injected failures', () => {
  it('reports a record whose write fails, writes the others, and a retry writes it once', async () => {
    const { record } = await newKey('flaky');
    await changeKey(record.id, { name: 'flaky-2' }, actor);
    await changeKey(record.id, { name: 'flaky-3' }, actor);
    const records = await stream.next();
    expect(records).toHaveLength(3);
    const victim = records[1]?.eventID;
    // Only the victim's audit write fails; every other call reaches DynamoDB Local.
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
    // Renames publish nothing; the creation was published once, on the real local bus.
    expect(eventsFor(record.id).map((e) => e['detail-type'])).toEqual(['ApiKeyCreated']);
  });

  it('reports a record whose event cannot be published, and the retry does not double the entry', async () => {
    const { record } = await newKey('bus-down');
    const records = await stream.next();
    expect(records).toHaveLength(1);
    // The bus is down for this one call only; restored, the retry publishes to the local bus.
    const eventBridge = mockClient(EventBridgeClient);
    try {
      eventBridge.on(PutEventsCommand).rejectsOnce(new Error('bus unavailable'));
      expect(await run(records).catch((e: Error) => e.name)).toBe('FullBatchFailureError');
      expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(1);
    } finally {
      eventBridge.restore();
    }
    expect(await auditItems()).toHaveLength(1);
    expect(eventsFor(record.id)).toHaveLength(0);

    expect(await run(records)).toEqual({ batchItemFailures: [] });
    const items = await auditItems();
    expect(items).toHaveLength(1);
    expect(items[0]?.key_id).toBe(record.id);
    const published = eventsFor(record.id);
    expect(published.map((e) => e['detail-type'])).toEqual(['ApiKeyCreated']);
    expect(published[0]?.detail).toMatchObject({ event_id: items[0]?.event_id, key_id: record.id });
  });
});
