/**
 * The audit consumer's metrics (docs/operations.md), read from the EMF line each batch writes:
 * entries written, duplicates skipped (a retried batch) and record failures, against the real
 * stream of DynamoDB Local as in `test/audit/audit-consumer.test.ts`. Only the failing write is faked.
 */
import type { DynamoDBRecord } from 'aws-lambda';
import { changeKey } from '../../functions/services/api-keys';
import { AUDIT_CONSUMER_METRICS, METRICS_NAMESPACE } from '../../lib/metric-catalog';
import { captureEmf, type EmfLine, readEmf } from '../support/emf';
import { newTestKey, TEST_ACTOR } from '../support/keys';

// Metrics are off for Jest (test/support/global-setup.ts); this file reads them. The harness loads
// the handler, whose modules create the Metrics instance: required after.
process.env.POWERTOOLS_METRICS_DISABLED = 'false';
const { useConsumerHarness } =
  require('../support/audit-consumer') as typeof import('../support/audit-consumer');
const { dynamodb } =
  require('../../functions/shared/clients') as typeof import('../../functions/shared/clients');
const { PutCommand } = require('@aws-sdk/lib-dynamodb') as typeof import('@aws-sdk/lib-dynamodb');

const h = useConsumerHarness();
const M = AUDIT_CONSUMER_METRICS;

/** Runs one batch and returns its only EMF line as counts, after checking its shape. */
async function batch(records: DynamoDBRecord[]) {
  const { lines, outcome } = await captureEmf(() => h.run(records));
  expect(lines).toHaveLength(1);
  const emf = readEmf(lines[0] as EmfLine);
  expect(emf.namespace).toBe(METRICS_NAMESPACE);
  expect(emf.dimensionSets).toEqual([['service']]);
  expect(emf.members.service).toBe(M.service);
  for (const metric of [M.entriesWritten, M.duplicatesSkipped, M.recordFailures]) {
    expect(emf.metrics[metric.name]?.unit).toBe('Count');
  }
  const count = (name: string) => emf.metrics[name]?.value;
  return {
    outcome,
    counts: {
      written: count(M.entriesWritten.name),
      duplicates: count(M.duplicatesSkipped.name),
      failed: count(M.recordFailures.name),
    },
  };
}

/** Fails the audit write of the records whose event id is in `victims`; everything else is real. */
function failWritesOf(victims: ReadonlySet<string | undefined>) {
  const realSend = dynamodb.send.bind(dynamodb) as (c: unknown) => Promise<unknown>;
  return jest.spyOn(dynamodb, 'send').mockImplementation(((command: unknown) => {
    if (command instanceof PutCommand && victims.has(command.input.Item?.event_id as string)) {
      return Promise.reject(Object.assign(new Error('Injected throttling'), { name: 'ThrottlingException' }));
    }
    return realSend(command);
  }) as never);
}

describe('audit consumer metrics', () => {
  it('counts the entries a batch wrote, then the duplicates when Lambda retries it', async () => {
    const { record } = await newTestKey('counted');
    await changeKey(record.id, { name: 'counted-2' }, TEST_ACTOR);
    const records = await h.stream.next();
    expect(records).toHaveLength(2);
    expect((await batch(records)).counts).toEqual({ written: 2, duplicates: 0, failed: 0 });
    expect((await batch(records)).counts).toEqual({ written: 0, duplicates: 2, failed: 0 });
  });

  it('counts a record whose write failed, next to those written', async () => {
    const { record } = await newTestKey('partly');
    await changeKey(record.id, { name: 'partly-2' }, TEST_ACTOR);
    await changeKey(record.id, { name: 'partly-3' }, TEST_ACTOR);
    const records = await h.stream.next();
    const spy = failWritesOf(new Set([records[1]?.eventID]));
    try {
      const { outcome, counts } = await batch(records);
      expect(outcome).toEqual({
        status: 'fulfilled',
        value: { batchItemFailures: [{ itemIdentifier: records[1]?.dynamodb?.SequenceNumber }] },
      });
      expect(counts).toEqual({ written: 2, duplicates: 0, failed: 1 });
    } finally {
      spy.mockRestore();
    }
  });

  it('still emits when every record failed and the batch throws', async () => {
    await newTestKey('all-down');
    const records = await h.stream.next();
    const spy = failWritesOf(new Set(records.map((r) => r.eventID)));
    try {
      const { outcome, counts } = await batch(records);
      expect(outcome.status).toBe('rejected');
      expect(counts).toEqual({ written: 0, duplicates: 0, failed: records.length });
    } finally {
      spy.mockRestore();
    }
  });
});
