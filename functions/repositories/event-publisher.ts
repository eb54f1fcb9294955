/** Puts domain events on the `latchkey` bus. A partially failed PutEvents is an error: callers retry. */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { type DomainEvent, EVENT_SOURCE } from '../domain/events';
import { registerClient } from '../shared/client-registry';
import { eventBusName } from '../shared/config';

export const eventBridge = registerClient(new EventBridgeClient({}));

class PublishError extends Error {}

const MAX_ENTRIES = 10; // PutEvents takes at most ten entries per call.

export async function publish(events: readonly DomainEvent[]): Promise<void> {
  for (let i = 0; i < events.length; i += MAX_ENTRIES) {
    const chunk = events.slice(i, i + MAX_ENTRIES);
    const out = await eventBridge.send(
      new PutEventsCommand({
        Entries: chunk.map((e) => ({
          EventBusName: eventBusName(),
          Source: EVENT_SOURCE,
          DetailType: e.detailType,
          Detail: JSON.stringify(e.detail),
        })),
      }),
    );
    if (out.FailedEntryCount) {
      const codes = (out.Entries ?? []).map((e) => e.ErrorCode).filter(Boolean);
      throw new PublishError(`EventBridge refused ${out.FailedEntryCount} event(s): ${codes.join(', ')}`);
    }
  }
}
