/** Creates the declared tables (`lib/declaration.ts`) in DynamoDB Local. */
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { indexesOf, type TableDeclaration, type TableId, tables } from '../lib/declaration';

function attributeDefinitions(t: TableDeclaration) {
  const all = [t.partitionKey, t.sortKey, ...indexesOf(t).flatMap((i) => [i.partitionKey, i.sortKey])];
  const byName = new Map(all.filter((a) => a !== undefined).map((a) => [a.name, a]));
  return [...byName.values()].map((a) => ({ AttributeName: a.name, AttributeType: a.type }));
}

function keySchema(pk: { name: string }, sk?: { name: string }) {
  return [
    { AttributeName: pk.name, KeyType: 'HASH' as const },
    ...(sk ? [{ AttributeName: sk.name, KeyType: 'RANGE' as const }] : []),
  ];
}

function createTableInput(name: string, t: TableDeclaration): CreateTableCommandInput {
  return {
    TableName: name,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: attributeDefinitions(t),
    KeySchema: keySchema(t.partitionKey, t.sortKey),
    ...(indexesOf(t).length
      ? {
          GlobalSecondaryIndexes: indexesOf(t).map((i) => ({
            IndexName: i.name,
            KeySchema: keySchema(i.partitionKey, i.sortKey),
            Projection: { ProjectionType: 'ALL' },
          })),
        }
      : {}),
    ...(t.stream ? { StreamSpecification: { StreamEnabled: true, StreamViewType: t.stream } } : {}),
  };
}

/** Creates every declared table named `<prefix>-<id>` (idempotent); returns their names. */
export async function createTables(client: DynamoDBClient, prefix: string): Promise<Record<TableId, string>> {
  const names: Partial<Record<TableId, string>> = {};
  for (const [id, t] of Object.entries(tables) as [TableId, TableDeclaration][]) {
    const name = `${prefix}-${id}`;
    try {
      await client.send(new CreateTableCommand(createTableInput(name, t)));
      if (t.ttlAttribute) {
        await client.send(
          new UpdateTimeToLiveCommand({
            TableName: name,
            TimeToLiveSpecification: { Enabled: true, AttributeName: t.ttlAttribute },
          }),
        );
      }
    } catch (error) {
      if (!(error instanceof ResourceInUseException)) throw error;
    }
    await client.send(new DescribeTableCommand({ TableName: name }));
    names[id] = name;
  }
  return names as Record<TableId, string>;
}
