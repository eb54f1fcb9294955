/**
 * The audit consumer's test harness: a local stack (real DynamoDB Local, local bus), a reader of
 * the keys table's real stream, and the handler called with those records as Lambda would.
 * Each test starts after everything earlier ones wrote, with an empty audit table.
 */
import { DeleteItemCommand, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { handler } from '../../functions/handlers/audit-consumer';
import type { LocalEvent } from '../../local/eventbridge';
import type { LocalStack, LocalStackOptions } from '../../local/stack';
import { lambdaContext } from './events';
import { startTestStack } from './local-stack';
import { streamReader } from './stream';

export interface ConsumerHarness {
  readonly stack: LocalStack;
  readonly stream: ReturnType<typeof streamReader>;
  /** A plain DynamoDB client on the stack's DynamoDB Local. */
  readonly db: DynamoDBClient;
  /** Every audit item, raw. */
  auditItems(): Promise<Record<string, unknown>[]>;
  /** What the local bus received about one key, in order. */
  eventsFor(keyId: string): LocalEvent[];
  run(records: DynamoDBRecord[]): ReturnType<typeof handler>;
}

/** Call at the top of a test file: registers beforeAll/beforeEach/afterAll and returns the harness. */
export function useConsumerHarness(options: LocalStackOptions = {}): ConsumerHarness {
  let stack: LocalStack | undefined;
  let stream: ReturnType<typeof streamReader> | undefined;
  let db: DynamoDBClient | undefined;
  const must = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('harness used outside a test');
    return value;
  };
  const harness: ConsumerHarness = {
    get stack() {
      return must(stack);
    },
    get stream() {
      return must(stream);
    },
    get db() {
      return must(db);
    },
    async auditItems() {
      const out = await must(db).send(
        new ScanCommand({ TableName: must(stack).tables.AUDIT_TABLE_NAME, ConsistentRead: true }),
      );
      return (out.Items ?? []).map((i) => unmarshall(i));
    },
    eventsFor: (keyId) =>
      must(stack)
        .events()
        .filter((e) => (e.detail as { key_id?: string }).key_id === keyId),
    run: (records) => handler({ Records: records }, lambdaContext),
  };

  beforeAll(async () => {
    stack = await startTestStack(options);
    db = new DynamoDBClient({});
    stream = streamReader(stack.tables.KEYS_TABLE_NAME as string);
  });
  beforeEach(async () => {
    await must(stream).next();
    for (const item of await harness.auditItems()) {
      await must(db).send(
        new DeleteItemCommand({
          TableName: must(stack).tables.AUDIT_TABLE_NAME,
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
  return harness;
}
