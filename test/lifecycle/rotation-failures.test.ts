/**
 * Scheduled rotation when Secrets Manager fails part-way (error paths, so the client is mocked for
 * the failing command only; every other call goes through to the local Secrets Manager endpoint).
 */

import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  SecretsManagerServiceException,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import type { Actor } from '../../functions/domain/api-key';
import { hashSecret } from '../../functions/domain/hashing';
import { parseToken } from '../../functions/domain/token';
import { getKey } from '../../functions/repositories/keys-repository';
import { createKey } from '../../functions/services/api-keys';
import { rotateDueKeys } from '../../functions/services/lifecycle';
import { routeScopeMap } from '../../lib/declaration';
import type { LocalStack } from '../../local/stack';
import { authorizerEvent } from '../support/events';
import { startTestStack } from '../support/local-stack';

process.env.LATCHKEY_ROUTE_SCOPES = JSON.stringify(routeScopeMap());
const DAY = 86_400_000;
const actor: Actor = { principal: 'arn:aws:iam::000000000000:user/tester' };
const secretsManager = mockClient(SecretsManagerClient);
let stack: LocalStack;
let sm: SecretsManagerClient;

beforeAll(async () => {
  stack = await startTestStack();
  sm = new SecretsManagerClient({});
});
beforeEach(() => {
  secretsManager.reset();
  // Everything not mocked by a test reaches the local endpoint.
  secretsManager.send.callThrough();
});
afterAll(async () => {
  secretsManager.restore();
  sm?.destroy();
  await stack?.stop();
});

const serviceError = (name: string, fault: 'client' | 'server') =>
  new SecretsManagerServiceException({
    name,
    $fault: fault,
    $metadata: { httpStatusCode: fault === 'server' ? 500 : 400 },
    message: name,
  });

async function rotatingKey(name: string) {
  const created = await sm.send(
    new CreateSecretCommand({ Name: `latchkey/${name}-${Date.now()}`, SecretString: '{"seed":true}' }),
  );
  const arn = created.ARN ?? '';
  const t0 = new Date();
  const key = await createKey(
    {
      name,
      scopes: ['agents:read'],
      environment: 'development',
      organization_id: 'failures',
      key_type: 'workspace',
      rotation: { every_days: 1, grace_period_seconds: 0, destination: arn },
    } as never,
    actor,
    () => t0,
  );
  return { arn, key, due: new Date(t0.getTime() + 2 * DAY) };
}

const valueAt = async (arn: string, stage = 'AWSCURRENT') =>
  (await sm.send(new GetSecretValueCommand({ SecretId: arn, VersionStage: stage }))).SecretString ?? '';
const authorize = async (token: string) => {
  const { handler } = await import('../../functions/handlers/authorizer');
  return handler(authorizerEvent('GET', '/demo/agents', { token })).then(
    (r) => (r.policyDocument.Statement[0] as { Effect: string }).Effect,
    () => 'Unauthorized',
  );
};

it('undoes a rotation whose promotion fails: the old token stays current, retried in an hour', async () => {
  const { arn, key, due } = await rotatingKey('promote');
  const before = await getKey(key.record.id);
  secretsManager
    .on(UpdateSecretVersionStageCommand, { VersionStage: 'AWSCURRENT' })
    .rejects(serviceError('InternalServiceError', 'server'));

  const result = await rotateDueKeys(due);
  expect(result.failed).toContainEqual({ key_id: key.record.id, reason: 'promotion_failed' });
  expect(result.rotated).not.toContain(key.record.id);
  // It was staged and the key was rotated (then undone): the staging went through for real.
  expect(secretsManager.commandCalls(PutSecretValueCommand)).toHaveLength(1);
  const after = await getKey(key.record.id);
  expect(after?.secret_hash).toBe(before?.secret_hash);
  expect(after?.rotated_at).toBeUndefined();
  expect(after?.version).toBe(3); // rotated, then undone
  expect(after?.rotation_due_at).toBe(new Date(due.getTime() + 3600_000).toISOString());
  expect(await authorize(key.key)).toBe('Allow');
  // The destination still offers the old value, and the never-valid staged token is not pending.
  expect(await valueAt(arn)).toBe('{"seed":true}');
  const stages = (await sm.send(new DescribeSecretCommand({ SecretId: arn }))).VersionIdsToStages ?? {};
  expect(Object.values(stages).flat()).toEqual(['AWSCURRENT']);

  // Once promotion works again, the retry an hour later rotates it.
  secretsManager.reset();
  secretsManager.send.callThrough();
  const retry = await rotateDueKeys(new Date(due.getTime() + 3600_000));
  expect(retry.rotated).toContain(key.record.id);
  const delivered = JSON.parse(await valueAt(arn)).api_key as string;
  expect((await getKey(key.record.id))?.secret_hash).toBe(hashSecret(parseToken(delivered)?.secret ?? ''));
  expect(await valueAt(arn, 'AWSPREVIOUS')).toBe('{"seed":true}');
  expect(await authorize(delivered)).toBe('Allow');
});

it('rotates nothing and writes nothing when the destination is only unavailable; the next run retries', async () => {
  const { arn, key, due } = await rotatingKey('transient');
  const before = await getKey(key.record.id);
  secretsManager.on(PutSecretValueCommand).rejects(serviceError('InternalServiceError', 'server'));

  const result = await rotateDueKeys(due);
  expect(result.failed).toContainEqual({ key_id: key.record.id, reason: 'destination_unavailable' });
  // Not even a back-off write: the key is exactly as it was, and still due.
  expect(await getKey(key.record.id)).toEqual(before);
  expect(secretsManager.commandCalls(UpdateSecretVersionStageCommand)).toHaveLength(0);

  secretsManager.reset();
  secretsManager.send.callThrough();
  expect((await rotateDueKeys(due)).rotated).toContain(key.record.id);
  expect(await valueAt(arn, 'AWSPREVIOUS')).toBe('{"seed":true}');
});

it('backs off a destination that refuses access, without auditing or rotating', async () => {
  const { key, due } = await rotatingKey('denied');
  const before = await getKey(key.record.id);
  secretsManager.on(PutSecretValueCommand).rejects(serviceError('AccessDeniedException', 'client'));

  const result = await rotateDueKeys(due);
  expect(result.failed).toContainEqual({ key_id: key.record.id, reason: 'destination_unwritable' });
  const after = await getKey(key.record.id);
  expect(after?.secret_hash).toBe(before?.secret_hash);
  expect(after?.last_change).toEqual(before?.last_change);
  expect(after?.rotation_due_at).toBe(new Date(due.getTime() + DAY).toISOString());
});

it('promotes a rotation whose key write landed but reported an error', async () => {
  const { arn, key, due } = await rotatingKey('landed');
  const dynamodb = mockClient(DynamoDBDocumentClient);
  try {
    dynamodb.send.callThrough();
    // The unmocked send, typed loosely: the stub's own signature is the base client's.
    const write = dynamodb.send.wrappedMethod as (this: unknown, command: UpdateCommand) => Promise<unknown>;
    // The rotation's UpdateItem lands, then the caller sees a failed condition (an SDK retry of it).
    dynamodb.on(UpdateCommand, { Key: { id: key.record.id } }).callsFakeOnce(async (input, getClient) => {
      await write.call(getClient(), new UpdateCommand(input));
      throw new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
    });
    const result = await rotateDueKeys(due);
    expect(result.rotated).toContain(key.record.id);
  } finally {
    dynamodb.restore();
  }
  const delivered = JSON.parse(await valueAt(arn)).api_key as string;
  const stored = await getKey(key.record.id);
  expect(stored?.version).toBe(2);
  expect(stored?.secret_hash).toBe(hashSecret(parseToken(delivered)?.secret ?? ''));
  expect(await authorize(delivered)).toBe('Allow');
});
