/**
 * One DynamoDB Local (in memory, free random port) for the whole Jest run. Each test file makes its
 * own tables with a unique prefix (`test/support/tables.ts`), so files never share data.
 */
import { startDynamoDbLocal } from '../../local/dynamodb';

export default async function globalSetup(): Promise<void> {
  const db = await startDynamoDbLocal({ port: 0 });
  (globalThis as { __DDB__?: unknown }).__DDB__ = db;
  // Workers start after this and inherit the environment.
  process.env.AWS_ENDPOINT_URL_DYNAMODB = db.endpoint;
  process.env.AWS_ENDPOINT_URL_DYNAMODB_STREAMS = db.endpoint;
  process.env.AWS_REGION = 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID = 'local';
  process.env.AWS_SECRET_ACCESS_KEY = 'local';
  process.env.POWERTOOLS_LOG_LEVEL = process.env.POWERTOOLS_LOG_LEVEL ?? 'SILENT';
  // EMF lines are stdout too; the files that check metrics set 'false' before loading a handler.
  process.env.POWERTOOLS_METRICS_DISABLED = process.env.POWERTOOLS_METRICS_DISABLED ?? 'true';
}
