import type { DynamoDbLocal } from '../../local/dynamodb';

/** Both tiers that use DynamoDB Local name this teardown; the first stops it, the second finds it stopped. */
export default async function globalTeardown(): Promise<void> {
  const shared = globalThis as { __DDB__?: Promise<DynamoDbLocal> };
  const db = shared.__DDB__;
  shared.__DDB__ = undefined;
  await (await db)?.stop();
}
