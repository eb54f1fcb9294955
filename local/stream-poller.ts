/**
 * The local event source mapping for the keys table's stream (settings from `streamConsumer` in
 * the declaration): reads every shard of the stream in DynamoDB Local, hands the consumer
 * Lambda-shaped batches in order, and on failure does what Lambda does with
 * `reportBatchItemFailures`, `retryAttempts` and `bisectBatchOnError`: retry from the first failed
 * sequence number, split the failing rest in two, and after the last attempt send the batch's
 * description (never its records' content) to `<dataDir>/dead-letter.jsonl`.
 *
 * Progress per shard is checkpointed (`<dataDir>/stream-checkpoints.json`), so a restart resumes
 * after the last delivered record instead of delivering the stream again.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  ExpiredIteratorException,
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
  type Shard,
  TrimmedDataAccessException,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord } from 'aws-lambda';
import { type FunctionDeclaration, streamConsumer, type TableId, tables } from '../lib/declaration';
import { LOCAL_ACCOUNT_ID } from './credentials';
import type { Worker, WorkerContext, WorkerFactory } from './stack';
import { type JsonLines, jsonFile, jsonLines } from './store';
import { deadLetterRecord, type StreamDeadLetter, toLambdaRecord } from './stream-records';

export interface StreamConsumerSettings {
  readonly table: TableId;
  readonly fn: FunctionDeclaration;
  readonly batchSize: number;
  readonly retryAttempts: number;
  readonly bisectBatchOnError: boolean;
}

export interface StreamPollerOptions {
  /** @default `streamConsumer` from the declaration */
  readonly consumer?: StreamConsumerSettings;
  /** Pause between polls of an idle stream. @default 500 */
  readonly pollIntervalMs?: number;
  /** First retry delay, doubled per attempt (max 5 s). @default 200 */
  readonly retryDelayMs?: number;
  /** Where exhausted batches go. @default `<dataDir>/dead-letter.jsonl`, or memory when in memory */
  readonly deadLetters?: JsonLines<StreamDeadLetter>;
}

/** Thrown inside delivery when the stack stops: nothing is checkpointed or dead-lettered. */
class Stopped extends Error {}

/** Where delivery of a batch stopped: the index of the first failed record, or -1 when all succeeded. */
export function firstFailure(records: readonly DynamoDBRecord[], result: unknown): number {
  if (typeof result !== 'object' || result === null) return -1;
  const failures = (result as { batchItemFailures?: unknown }).batchItemFailures;
  if (!Array.isArray(failures) || failures.length === 0) return -1;
  let first = records.length;
  for (const f of failures) {
    const id = (f as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    const index = records.findIndex(
      (r) => typeof id === 'string' && id !== '' && r.dynamodb?.SequenceNumber === id,
    );
    // Lambda treats an identifier it cannot place as a failure of the whole batch.
    if (index < 0) return 0;
    first = Math.min(first, index);
  }
  return first;
}

interface ShardState {
  readonly id: string;
  readonly parent: string | undefined;
  iterator: string | undefined;
  closed: boolean;
}

export function streamPoller(options: StreamPollerOptions = {}): WorkerFactory {
  return async (context) => startStreamPoller(context, options);
}

async function startStreamPoller(ctx: WorkerContext, options: StreamPollerOptions): Promise<Worker> {
  const consumer = options.consumer ?? streamConsumer;
  const region = ctx.env.AWS_REGION ?? 'us-east-1';
  const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  const ddb = new DynamoDBClient({ endpoint: ctx.env.AWS_ENDPOINT_URL_DYNAMODB, region, credentials });
  const streams = new DynamoDBStreamsClient({
    endpoint: ctx.env.AWS_ENDPOINT_URL_DYNAMODB_STREAMS,
    region,
    credentials,
  });
  const tableName = ctx.env[tables[consumer.table].envVar];
  if (!tableName) throw new Error(`The stack did not set ${tables[consumer.table].envVar}`);
  const latest = (await ddb.send(new DescribeTableCommand({ TableName: tableName }))).Table?.LatestStreamArn;
  if (!latest) throw new Error(`Table ${tableName} has no stream`);
  const streamArn: string = latest;

  const deadLetters =
    options.deadLetters ??
    jsonLines<StreamDeadLetter>(ctx.dataDir ? join(ctx.dataDir, 'dead-letter.jsonl') : undefined);
  const checkpoints = jsonFile<Record<string, Record<string, string>>>(
    ctx.dataDir ? join(ctx.dataDir, 'stream-checkpoints.json') : undefined,
    () => ({}),
  );
  const checkpoint = (shardId: string) => checkpoints.read()[streamArn]?.[shardId];
  const saveCheckpoint = (shardId: string, sequenceNumber: string) => {
    const all = checkpoints.read();
    checkpoints.write({ ...all, [streamArn]: { ...all[streamArn], [shardId]: sequenceNumber } });
  };
  const functionArn = `arn:aws:lambda:${region}:${LOCAL_ACCOUNT_ID}:function:latchkey-local-${consumer.fn.name}`;
  const shards = new Map<string, ShardState>();
  let stopped = false;
  let wake: () => void = () => {};
  const stopSignal = new Promise<void>((r) => {
    wake = r;
  });
  const pause = (ms: number) => Promise.race([new Promise((r) => setTimeout(r, ms).unref()), stopSignal]);

  async function attempt(records: DynamoDBRecord[]): Promise<{ failedFrom: number; error?: string }> {
    try {
      const result = await ctx.lambdas.invoke(consumer.fn, { Records: records });
      return { failedFrom: firstFailure(records, result) };
    } catch (error) {
      return { failedFrom: 0, error: error instanceof Error ? error.message : String(error) };
    }
  }

  /** Delivers in order; what fails is retried from its first failure, bisected, then dead-lettered. */
  async function deliver(
    records: DynamoDBRecord[],
    shardId: string,
    attemptsLeft: number,
    invokes = 1,
  ): Promise<void> {
    if (stopped) throw new Stopped();
    const { failedFrom, error } = await attempt(records);
    if (failedFrom < 0) return;
    const rest = records.slice(failedFrom);
    if (attemptsLeft <= 0) {
      const requestId = randomUUID();
      deadLetters.append(
        deadLetterRecord(rest, {
          requestId,
          functionArn,
          shardId,
          attempts: invokes,
          now: new Date(),
          ...(error ? { functionError: 'Unhandled' } : {}),
        }),
      );
      ctx.log(`stream: ${rest.length} record(s) sent to the dead-letter queue after ${invokes} attempt(s)`);
      return;
    }
    await pause(Math.min((options.retryDelayMs ?? 200) * 2 ** (invokes - 1), 5000));
    if (consumer.bisectBatchOnError && rest.length > 1) {
      const middle = Math.ceil(rest.length / 2);
      await deliver(rest.slice(0, middle), shardId, attemptsLeft - 1, invokes + 1);
      await deliver(rest.slice(middle), shardId, attemptsLeft - 1, invokes + 1);
    } else {
      await deliver(rest, shardId, attemptsLeft - 1, invokes + 1);
    }
  }

  async function discoverShards(): Promise<void> {
    let start: string | undefined;
    do {
      const out = await streams.send(
        new DescribeStreamCommand({ StreamArn: streamArn, ExclusiveStartShardId: start }),
      );
      for (const s of out.StreamDescription?.Shards ?? ([] as Shard[])) {
        if (s.ShardId && !shards.has(s.ShardId)) {
          shards.set(s.ShardId, {
            id: s.ShardId,
            parent: s.ParentShardId,
            iterator: undefined,
            closed: false,
          });
        }
      }
      start = out.StreamDescription?.LastEvaluatedShardId;
    } while (start);
  }

  async function iteratorFor(shard: ShardState, fromStart = false): Promise<string | undefined> {
    const after = fromStart ? undefined : checkpoint(shard.id);
    const out = await streams.send(
      new GetShardIteratorCommand({
        StreamArn: streamArn,
        ShardId: shard.id,
        ...(after
          ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: after }
          : { ShardIteratorType: 'TRIM_HORIZON' }),
      }),
    );
    return out.ShardIterator;
  }

  /** Reads one shard until it has nothing new; returns whether it delivered anything. */
  async function drain(shard: ShardState): Promise<boolean> {
    let delivered = false;
    while (!stopped) {
      shard.iterator ??= await iteratorFor(shard);
      if (!shard.iterator) {
        shard.closed = true;
        return delivered;
      }
      let page: GetRecordsCommandOutput;
      try {
        page = await streams.send(
          new GetRecordsCommand({ ShardIterator: shard.iterator, Limit: consumer.batchSize }),
        );
      } catch (error) {
        if (error instanceof ExpiredIteratorException) {
          shard.iterator = undefined;
          continue;
        }
        if (error instanceof TrimmedDataAccessException) {
          shard.iterator = await iteratorFor(shard, true);
          continue;
        }
        throw error;
      }
      const records = (page.Records ?? []).map((r) => toLambdaRecord(r, streamArn));
      if (records.length) {
        await deliver(records, shard.id, consumer.retryAttempts);
        const last = records[records.length - 1]?.dynamodb?.SequenceNumber;
        if (last) saveCheckpoint(shard.id, last);
        delivered = true;
      }
      shard.iterator = page.NextShardIterator;
      if (!shard.iterator) shard.closed = true;
      if (!records.length || shard.closed) return delivered;
    }
    return delivered;
  }

  async function pollOnce(): Promise<boolean> {
    await discoverShards();
    let delivered = false;
    for (const shard of shards.values()) {
      // A child shard waits until its parent is read to the end, so records stay in order.
      const parent = shard.parent ? shards.get(shard.parent) : undefined;
      if (shard.closed || (parent && !parent.closed)) continue;
      delivered = (await drain(shard)) || delivered;
    }
    return delivered;
  }

  const loop = (async () => {
    while (!stopped) {
      try {
        if (!(await pollOnce())) await pause(options.pollIntervalMs ?? 500);
      } catch (error) {
        if (stopped) break;
        ctx.log(`stream poller: ${error instanceof Error ? error.message : String(error)}`);
        await pause(2000);
      }
    }
  })();

  ctx.log(`stream poller: ${tableName} → ${consumer.fn.name} (batches of ${consumer.batchSize})`);
  return {
    async stop() {
      stopped = true;
      wake();
      await loop;
      ddb.destroy();
      streams.destroy();
    },
  };
}
