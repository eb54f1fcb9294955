/**
 * One DynamoDB Local (in memory, free random port) for the integration and e2e tiers: each of the
 * two projects names this setup, and when both run they share the first one's server. Each test
 * file makes its own tables with a unique prefix (`test/support/tables.ts`), so files never share data.
 */
import { type DynamoDbLocal, startDynamoDbLocal } from '../../local/dynamodb';

const shared = globalThis as { __DDB__?: Promise<DynamoDbLocal> };

export default async function globalSetup(): Promise<void> {
  // Lambda runs Node.js 22; the SDK's notice about Node 20 on a laptop is noise in test output.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  // The JIT's first tier only: the JVM starts on about half the CPU, which matters on a small
  // shared CI machine; tests give DynamoDB Local too little work for the optimizing tier to pay off.
  process.env.JAVA_TOOL_OPTIONS ??= '-XX:TieredStopAtLevel=1 -XX:+UseSerialGC';
  shared.__DDB__ ??= startDynamoDbLocal({ port: 0 });
  const db = await shared.__DDB__;
  // Workers start after this and inherit the environment.
  process.env.AWS_ENDPOINT_URL_DYNAMODB = db.endpoint;
  process.env.AWS_ENDPOINT_URL_DYNAMODB_STREAMS = db.endpoint;
}
