/**
 * What a test reads of DynamoDB behind the code under test: one audit partition, and which
 * commands a call sent (through the functions' own module-scope client, `functions/shared/clients`).
 */
import { DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { dynamodb } from '../../functions/shared/clients';

const db = new DynamoDBClient({});

/** The items of one audit partition (`KEY#<id>`, `IP#<ip>`, ...), read consistently. */
export async function auditPartition(table: string, pk: string): Promise<Record<string, unknown>[]> {
  const out = await db.send(
    new QueryCommand({
      TableName: table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': { S: pk } },
      ConsistentRead: true,
    }),
  );
  return (out.Items ?? []).map((i) => unmarshall(i));
}

/** The DynamoDB commands `run` sent, by name, in order. */
export async function commandsOf(run: () => Promise<unknown>): Promise<string[]> {
  const sent: string[] = [];
  const realSend = dynamodb.send.bind(dynamodb) as (c: unknown) => Promise<unknown>;
  const spy = jest.spyOn(dynamodb, 'send').mockImplementation(((c: { constructor: { name: string } }) => {
    sent.push(c.constructor.name);
    return realSend(c);
  }) as never);
  try {
    await run();
  } finally {
    spy.mockRestore();
  }
  return sent;
}
