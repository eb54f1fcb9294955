/** Per-test-file tables in the shared DynamoDB Local; sets the env vars the handlers read. */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createTables } from '../../local/tables';

export async function useFreshTables(): Promise<Record<string, string>> {
  const client = new DynamoDBClient({});
  try {
    const names = await createTables(client, `t${randomUUID().slice(0, 8)}`);
    Object.assign(process.env, names);
    return names;
  } finally {
    client.destroy();
  }
}
