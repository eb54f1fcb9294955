/**
 * Per-test-file tables in the shared DynamoDB Local, and the handlers' environment for them: built
 * by the same builder and configuration as the local stack's (`local/environment.ts`), so a test
 * that calls a handler or service directly sees exactly what the function would.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { readLocalConfig } from '../../lib/config';
import { type TableId, tables } from '../../lib/declaration';
import { localFunctionEnvironment } from '../../local/environment';
import { DEFAULT_KMS_KEY_ID } from '../../local/stack';
import { createTables } from '../../local/tables';
import { TEST_ACCOUNT } from './events';
import { seedTestTenancy } from './tenancy';

/**
 * Creates the tables, sets the handlers' environment, seeds the test tenancy (`tenancy.ts`) unless
 * told not to, and returns `{ KEYS_TABLE_NAME: <name>, ... }`. The functions believe they run in
 * `TEST_ACCOUNT`, the account of the test events' APIs.
 */
export async function useFreshTables(
  config: Record<string, unknown> = {},
  options: { seed?: boolean } = {},
): Promise<Record<string, string>> {
  const client = new DynamoDBClient({});
  try {
    const names = await createTables(client, `t${randomUUID().slice(0, 8)}`);
    const resolved = readLocalConfig(config);
    const env = localFunctionEnvironment(
      { tables: names, kmsKeyId: DEFAULT_KMS_KEY_ID, eventBusName: resolved.eventBusName },
      resolved,
      TEST_ACCOUNT,
    );
    Object.assign(process.env, env.merged);
    if (options.seed !== false) await seedTestTenancy();
    return Object.fromEntries(
      (Object.entries(names) as [TableId, string][]).map(([id, name]) => [tables[id].envVar, name]),
    );
  } finally {
    client.destroy();
  }
}
