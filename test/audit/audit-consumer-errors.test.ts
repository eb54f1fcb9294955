/**
 * The audit consumer's error paths that need an injected failure: a DynamoDB write that throttles
 * and an EventBridge publish that fails. Everything else is real, as in `audit-consumer.test.ts`:
 * stream records from DynamoDB Local, writes to DynamoDB Local, events on the local stack's bus.
 * Only the one failing call is faked, and only for as long as the case needs it (docs/testing.md).
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { changeKey } from '../../functions/services/api-keys';
import { dynamodb } from '../../functions/shared/clients';
import { useConsumerHarness } from '../support/audit-consumer';
import { newTestKey, TEST_ACTOR } from '../support/keys';

const actor = TEST_ACTOR;
const h = useConsumerHarness();
const { auditItems, eventsFor, run } = h;
const newKey = (name = 'consumer') => newTestKey(name);

describe('audit consumer with injected failures', () => {
  it('reports a record whose write fails, writes the others, and a retry writes it once', async () => {
    const { record } = await newKey('flaky');
    await changeKey(record.id, { name: 'flaky-2' }, actor);
    await changeKey(record.id, { name: 'flaky-3' }, actor);
    const records = await h.stream.next();
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
    const records = await h.stream.next();
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
