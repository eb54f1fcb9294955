/** Reads a table's stream from DynamoDB Local and hands back Lambda-shaped records (`local/stream-records.ts`). */
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  type _Record,
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord } from 'aws-lambda';
import { toLambdaRecord } from '../../local/stream-records';

/** Returns a reader whose every call gives the records written since its previous call, in order. */
export function streamReader(tableName: string): { next(): Promise<DynamoDBRecord[]>; close(): void } {
  const ddb = new DynamoDBClient({});
  const streams = new DynamoDBStreamsClient({});
  const seen = new Set<string>();
  return {
    async next() {
      const table = await ddb.send(new DescribeTableCommand({ TableName: tableName }));
      const streamArn = table.Table?.LatestStreamArn;
      if (!streamArn) throw new Error(`${tableName} has no stream`);
      const stream = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
      const records: _Record[] = [];
      for (const shard of stream.StreamDescription?.Shards ?? []) {
        let iterator = (
          await streams.send(
            new GetShardIteratorCommand({
              StreamArn: streamArn,
              ShardId: shard.ShardId,
              ShardIteratorType: 'TRIM_HORIZON',
            }),
          )
        ).ShardIterator;
        // An open shard always returns a next iterator: stop at the first empty page.
        while (iterator) {
          const page = await streams.send(new GetRecordsCommand({ ShardIterator: iterator }));
          if (!page.Records?.length) break;
          records.push(...page.Records);
          iterator = page.NextShardIterator;
        }
      }
      const fresh = records.filter((r) => {
        const seq = r.dynamodb?.SequenceNumber ?? '';
        if (seen.has(seq)) return false;
        seen.add(seq);
        return true;
      });
      fresh.sort((a, b) =>
        BigInt(a.dynamodb?.SequenceNumber ?? 0) < BigInt(b.dynamodb?.SequenceNumber ?? 0) ? -1 : 1,
      );
      return fresh.map((r) => toLambdaRecord(r, streamArn));
    },
    close() {
      ddb.destroy();
      streams.destroy();
    },
  };
}
