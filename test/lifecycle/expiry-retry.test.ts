/**
 * An expiry alert whose event cannot be sent is not marked as sent: the next scan sends it, once.
 * EventBridge is mocked here (an error path); DynamoDB is DynamoDB Local.
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { createKey } from '../../functions/services/api-keys';
import { scanExpiries } from '../../functions/services/lifecycle';
import { useFreshTables } from '../support/tables';

const eventBridge = mockClient(EventBridgeClient);
const DAY = 86_400_000;

beforeAll(async () => {
  await useFreshTables();
  process.env.EVENT_BUS_NAME = 'latchkey';
});
afterAll(() => eventBridge.restore());

it('retries an alert whose event failed, and then sends it only once', async () => {
  const now = new Date();
  const { record } = await createKey(
    {
      name: 'retry',
      scopes: ['agents:read'],
      environment: 'development',
      organization_id: 'o',
      key_type: 'workspace',
      expires_at: new Date(now.getTime() + 3 * DAY).toISOString(),
    } as never,
    { principal: 'tester' },
  );
  eventBridge
    .on(PutEventsCommand)
    .rejectsOnce(new Error('EventBridge is down'))
    .resolves({ FailedEntryCount: 0 });

  const first = await scanExpiries(now, [14, 7, 1]);
  expect(first.failed).toEqual([{ key_id: record.id, reason: 'Error' }]);
  expect(first.expiring).toEqual([]);
  const second = await scanExpiries(now, [14, 7, 1]);
  expect(second.expiring).toEqual([{ key_id: record.id, threshold_days: 7 }]);
  const third = await scanExpiries(now, [14, 7, 1]);
  expect(third.expiring).toEqual([]);
  const sent = eventBridge
    .commandCalls(PutEventsCommand)
    .map((c) => c.args[0].input.Entries?.[0]?.DetailType);
  expect(sent).toEqual(['ApiKeyExpiring', 'ApiKeyExpiring']);
});
