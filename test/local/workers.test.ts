/** The background workers: the keys stream poller (Lambda's event source mapping) and the scheduler. */
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { FunctionDeclaration } from '../../lib/declaration';
import { localLambdas } from '../../local/lambda';
import { scheduler } from '../../local/scheduler';
import type { LocalStack } from '../../local/stack';
import { jsonLines } from '../../local/store';
import { firstFailure, streamPoller } from '../../local/stream-poller';
import type { StreamDeadLetter } from '../../local/stream-records';
import { startTestStack } from '../support/local-stack';
import { seen } from './fixtures/stream-consumer';
import { ticks } from './fixtures/tick';

const fixture = (name: string): FunctionDeclaration => ({
  name,
  entry: `test/local/fixtures/${name}.ts`,
  access: [],
});

async function eventually(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('firstFailure (reportBatchItemFailures)', () => {
  const records = ['1', '2', '3'].map((n) => ({ dynamodb: { SequenceNumber: n } }));
  it('finds the earliest failed record, and treats an unknown identifier as a whole-batch failure', () => {
    expect(firstFailure(records, { batchItemFailures: [] })).toBe(-1);
    expect(firstFailure(records, undefined)).toBe(-1);
    expect(
      firstFailure(records, { batchItemFailures: [{ itemIdentifier: '3' }, { itemIdentifier: '2' }] }),
    ).toBe(1);
    expect(firstFailure(records, { batchItemFailures: [{ itemIdentifier: 'nope' }] })).toBe(0);
    expect(firstFailure(records, { batchItemFailures: [{ itemIdentifier: '' }] })).toBe(0);
  });
});

describe('stream poller', () => {
  let stack: LocalStack;
  const deadLetters = jsonLines<StreamDeadLetter>(undefined);

  beforeAll(async () => {
    stack = await startTestStack({
      workers: [
        streamPoller({
          consumer: {
            table: 'keys',
            fn: fixture('stream-consumer'),
            batchSize: 3,
            retryAttempts: 2,
            bisectBatchOnError: true,
          },
          deadLetters,
          pollIntervalMs: 50,
          retryDelayMs: 1,
        }),
      ],
    });
  });
  afterAll(() => stack?.stop());

  it('delivers in order, retries from the first failure, bisects, and dead-letters only what keeps failing', async () => {
    const ddb = new DynamoDBClient({});
    const items = [
      { id: 'k1' },
      { id: 'k2' },
      { id: 'k3', poison: true },
      { id: 'k4' },
      { id: 'k5', crash: true },
      { id: 'k6' },
      { id: 'k7' },
    ];
    try {
      for (const { id, poison, crash } of items) {
        await ddb.send(
          new PutItemCommand({
            TableName: stack.tables.KEYS_TABLE_NAME,
            Item: {
              id: { S: id },
              ...(poison ? { poison: { BOOL: true } } : {}),
              ...(crash ? { crash: { BOOL: true } } : {}),
            },
          }),
        );
      }
    } finally {
      ddb.destroy();
    }
    await eventually(
      () => deadLetters.all().length === 2 && seen.processed.includes('k7'),
      'delivery of every record',
    );

    // Every good record processed; the first processing of each happens in stream order.
    const firsts = [...new Set(seen.processed)];
    expect(firsts).toEqual(['k1', 'k2', 'k4', 'k6', 'k7']);
    // The poison and crashing records were tried 1 + retryAttempts times, then dead-lettered alone.
    expect(seen.invocations.filter((ids) => ids.includes('k3'))).toHaveLength(3);
    expect(seen.invocations.filter((ids) => ids.includes('k5'))).toHaveLength(3);
    const letters = deadLetters.all();
    expect(letters.map((l) => l.DDBStreamBatchInfo.batchSize)).toEqual([1, 1]);
    expect(letters[1]?.responseContext.functionError).toBe('Unhandled');
    // Only the batch's description: no image reaches the dead-letter queue.
    expect(JSON.stringify(letters)).not.toContain('poison');
  });
});

describe('scheduler', () => {
  it('runs each schedule with a scheduled event, at its local interval', async () => {
    const worker = await scheduler({
      schedules: [{ fn: fixture('tick'), everyMinutes: 60, localEverySeconds: 0.05 }],
    })({ lambdas: localLambdas(), env: { AWS_REGION: 'us-east-1' }, dataDir: undefined, log: () => {} });
    try {
      await eventually(() => ticks.length >= 2, 'two ticks', 5000);
    } finally {
      await worker.stop();
    }
    expect(ticks[0]).toMatchObject({ source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} });
    expect(ticks[0]?.resources[0]).toMatch(/:rule\/latchkey-local-tick$/);
  });
});
