/**
 * `npm run bench`: authorizer latency, in-process, against a fresh in-memory DynamoDB Local.
 * Reports percentiles for the allow path (one GetItem), the refusal without a read (bad checksum)
 * and the pure token/hash work, so regressions show as numbers, not as flaky timed tests.
 */
import { performance } from 'node:perf_hooks';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { readLocalConfig } from '../lib/config';
import { startDynamoDbLocal } from '../local/dynamodb';
import { localFunctionEnvironment } from '../local/environment';
import { DEFAULT_KMS_KEY_ID } from '../local/stack';
import { createTables } from '../local/tables';

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 2000);
// Lambda runs Node.js 22; the SDK's notice about Node 20 here would only clutter the table.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

function event(token: string, method = 'GET', resource = '/demo/agents'): APIGatewayRequestAuthorizerEvent {
  return {
    type: 'REQUEST',
    methodArn: `arn:aws:execute-api:us-east-1:000000000000:bench/local/${method}${resource}`,
    resource,
    path: resource,
    httpMethod: method,
    headers: { Authorization: `Bearer ${token}` },
    multiValueHeaders: {},
    pathParameters: null,
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    stageVariables: null,
    requestContext: {
      // The local account: the built-in registration admits only APIs of the account Latchkey runs in.
      accountId: '000000000000',
      identity: { sourceIp: '127.0.0.1' },
    } as APIGatewayRequestAuthorizerEvent['requestContext'],
  };
}

function report(name: string, samples: number[]): void {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
  const fmt = (ms: number) => `${ms.toFixed(3)} ms`;
  console.log(
    `${name.padEnd(52)} n=${String(samples.length).padEnd(6)} p50=${fmt(at(50))}  p95=${fmt(at(95))}  p99=${fmt(at(99))}`,
  );
}

async function time(n: number, fn: () => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    samples.push(performance.now() - t);
  }
  return samples;
}

/** A development workspace key with agents:read, made by the real service code. */
async function benchKey(name: string) {
  const { createKey } = await import('../functions/services/api-keys');
  return createKey(
    {
      name,
      scopes: ['agents:read'],
      environment: 'development',
      organization_id: 'o',
      key_type: 'workspace',
    } as never,
    { principal: 'bench' },
  );
}

/**
 * Issue 3's target: a change is visible through the audit API within 2 s locally. Measures the
 * whole path on the local stack: keys table → DynamoDB Local stream → poller → audit consumer →
 * audit table → the query the audit route makes.
 */
async function auditVisibility(dynamoEndpoint: string): Promise<void> {
  const { startLocalStack } = await import('../local/stack');
  const { localWorkers } = await import('../local/workers');
  const stack = await startLocalStack({
    port: 0,
    dynamoEndpoint,
    inMemory: true,
    quiet: true,
    tablePrefix: 'benchaudit',
    workers: localWorkers(),
  });
  try {
    const { changeKey } = await import('../functions/services/api-keys');
    const { keyAudit } = await import('../functions/services/audit');
    const actor = { principal: 'bench' };
    const { record } = await benchKey('audit');
    const samples: number[] = [];
    const rounds = Number(process.env.BENCH_AUDIT_ROUNDS ?? 20);
    for (let i = 1; i <= rounds; i++) {
      await changeKey(record.id, { name: `audit ${i}` }, actor);
      const t = performance.now();
      // Created + i updates.
      while ((await keyAudit(record.id, 100)).items.length < i + 1) {
        if (performance.now() - t > 30_000) throw new Error('audit entry never appeared');
        await new Promise((r) => setTimeout(r, 10));
      }
      samples.push(performance.now() - t);
    }
    report('audit entry visible after a change (target 2000 ms)', samples);
  } finally {
    await stack.stop();
  }
}

async function main(): Promise<void> {
  const db = await startDynamoDbLocal({ port: 0 });
  try {
    Object.assign(process.env, {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_DYNAMODB: db.endpoint,
      POWERTOOLS_LOG_LEVEL: 'SILENT',
    });
    const admin = new DynamoDBClient({});
    const config = readLocalConfig();
    const handlerEnv = localFunctionEnvironment(
      {
        tables: await createTables(admin, 'bench'),
        kmsKeyId: DEFAULT_KMS_KEY_ID,
        eventBusName: config.eventBusName,
      },
      config,
    );
    Object.assign(process.env, handlerEnv.merged);
    admin.destroy();
    const { handler } = await import('../functions/handlers/authorizer');
    const { parseToken } = await import('../functions/domain/token');
    const { secretMatches, hashSecret } = await import('../functions/domain/hashing');
    const { key } = await benchKey('bench');
    const bad = `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`;
    const parsed = parseToken(key);
    const hash = hashSecret(parsed?.secret ?? '');

    await time(200, () => handler(event(key))); // warm up connections and JIT
    console.log(
      `Latchkey bench: ${ITERATIONS} iterations, DynamoDB Local in memory, node ${process.version}`,
    );
    report('token parse + checksum (pure)', await time(ITERATIONS, async () => parseToken(key)));
    report(
      'secret hash compare (pure)',
      await time(ITERATIONS, async () => secretMatches(parsed?.secret ?? '', hash)),
    );
    report(
      'authorizer: bad checksum (no read; denial audited)',
      await time(ITERATIONS, () => handler(event(bad)).catch(() => undefined)),
    );
    report('authorizer: allow (one GetItem)', await time(ITERATIONS, () => handler(event(key))));
    report('authorizer: deny, scope missing', await time(ITERATIONS, () => handler(event(key, 'POST'))));
    const concurrent: number[] = [];
    for (let round = 0; round < ITERATIONS / 20; round++) {
      const t = performance.now();
      await Promise.all(Array.from({ length: 20 }, () => handler(event(key))));
      concurrent.push((performance.now() - t) / 20);
    }
    report('authorizer: allow, 20 concurrent (per call)', concurrent);
    await auditVisibility(db.endpoint);
  } finally {
    await db.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
