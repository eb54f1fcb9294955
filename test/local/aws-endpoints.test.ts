/**
 * The local KMS, EventBridge and Secrets Manager endpoints, called with the real SDK clients as the
 * stack's operator (the environment's keys; who else may call them: `aws-auth.test.ts`).
 */

import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  InvalidCiphertextException,
  KMSClient,
  NotFoundException,
} from '@aws-sdk/client-kms';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  InvalidParameterException,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import type { LocalEvent } from '../../local/eventbridge';
import type { LocalStack } from '../../local/stack';
import { send, sendSigned, startTestStack } from '../support/local-stack';

let stack: LocalStack;
let kms: KMSClient;

beforeAll(async () => {
  stack = await startTestStack();
  // From the environment the stack set, exactly as the handlers' clients are configured.
  kms = new KMSClient({});
});
afterAll(async () => {
  kms?.destroy();
  await stack?.stop();
});

describe('environment', () => {
  it('points every SDK service at the local stack', () => {
    expect(process.env.AWS_ENDPOINT_URL_KMS).toBe(stack.url);
    expect(process.env.AWS_ENDPOINT_URL_EVENTBRIDGE).toBe(stack.url);
    expect(process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER).toBe(stack.url);
    expect(process.env.AWS_ENDPOINT_URL_DYNAMODB).toBe(stack.dynamoEndpoint);
    expect(process.env.AWS_ENDPOINT_URL_DYNAMODB_STREAMS).toBe(stack.dynamoEndpoint);
    expect(process.env.KEYS_TABLE_NAME).toBe(stack.tables.KEYS_TABLE_NAME);
    expect(JSON.parse(process.env.LATCHKEY_ROUTE_SCOPES ?? '{}')).toMatchObject({
      'GET /demo/agents': 'agents:read',
    });
    expect(process.env.LATCHKEY_API_ENVIRONMENT).toBe('development');
    expect(process.env.EVENT_BUS_NAME).toBe('latchkey');
  });
});

describe('health', () => {
  it('answers 200 while DynamoDB Local answers', async () => {
    const res = await send(stack.url, { path: '/_local/health' });
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ status: 'ok', dynamodb: 'up' });
  });
});

describe('local KMS', () => {
  const keyId = () => process.env.KMS_KEY_ID ?? '';
  const context = { key_id: 'abc123', organization_id: 'org_1' };

  it('round-trips with the same encryption context, in any key order', async () => {
    const plaintext = Buffer.from('{"owner":"team-a"}');
    const encrypted = await kms.send(
      new EncryptCommand({ KeyId: keyId(), Plaintext: plaintext, EncryptionContext: context }),
    );
    expect(encrypted.CiphertextBlob).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(encrypted.CiphertextBlob ?? []).includes(plaintext)).toBe(false);
    const decrypted = await kms.send(
      new DecryptCommand({
        CiphertextBlob: encrypted.CiphertextBlob,
        EncryptionContext: { organization_id: 'org_1', key_id: 'abc123' },
      }),
    );
    expect(Buffer.from(decrypted.Plaintext ?? []).toString()).toBe('{"owner":"team-a"}');
    expect(decrypted.KeyId).toBe(encrypted.KeyId);
  });

  it('refuses to decrypt with a different or missing encryption context', async () => {
    const { CiphertextBlob } = await kms.send(
      new EncryptCommand({ KeyId: keyId(), Plaintext: Buffer.from('secret'), EncryptionContext: context }),
    );
    await expect(
      kms.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: { ...context, key_id: 'other' } })),
    ).rejects.toBeInstanceOf(InvalidCiphertextException);
    await expect(kms.send(new DecryptCommand({ CiphertextBlob }))).rejects.toBeInstanceOf(
      InvalidCiphertextException,
    );
    const tampered = Buffer.from(CiphertextBlob ?? []);
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 1;
    await expect(
      kms.send(new DecryptCommand({ CiphertextBlob: tampered, EncryptionContext: context })),
    ).rejects.toBeInstanceOf(InvalidCiphertextException);
  });

  it('knows only the configured key', async () => {
    await expect(
      kms.send(new EncryptCommand({ KeyId: 'alias/someone-else', Plaintext: Buffer.from('x') })),
    ).rejects.toBeInstanceOf(NotFoundException);
    const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: keyId() }));
    expect(KeyMetadata?.Enabled).toBe(true);
    // The key's own ARN works as well as the alias.
    await expect(kms.send(new DescribeKeyCommand({ KeyId: KeyMetadata?.Arn }))).resolves.toBeDefined();
  });

  it('generates data keys whose ciphertext decrypts to the same key', async () => {
    const dataKey = await kms.send(
      new GenerateDataKeyCommand({ KeyId: keyId(), KeySpec: 'AES_256', EncryptionContext: context }),
    );
    expect(dataKey.Plaintext?.length).toBe(32);
    const decrypted = await kms.send(
      new DecryptCommand({ CiphertextBlob: dataKey.CiphertextBlob, EncryptionContext: context }),
    );
    expect(Buffer.from(decrypted.Plaintext ?? []).equals(Buffer.from(dataKey.Plaintext ?? []))).toBe(true);
  });
});

describe('local EventBridge', () => {
  it('keeps put events and lists them at /_local/events, newest last', async () => {
    const client = new EventBridgeClient({});
    try {
      const out = await client.send(
        new PutEventsCommand({
          Entries: [
            {
              EventBusName: 'latchkey',
              Source: 'latchkey',
              DetailType: 'ApiKeyCreated',
              Detail: '{"key_id":"k1"}',
            },
            {
              EventBusName: 'latchkey',
              Source: 'latchkey',
              DetailType: 'ApiKeyRevoked',
              Detail: '{"key_id":"k1"}',
            },
            { EventBusName: 'nope', Source: 'latchkey', DetailType: 'ApiKeyRevoked', Detail: '{}' },
          ],
        }),
      );
      expect(out.FailedEntryCount).toBe(1);
      expect(out.Entries?.[0]?.EventId).toEqual(expect.any(String));
      expect(out.Entries?.[2]?.ErrorCode).toBe('ResourceNotFoundException');
      const res = await sendSigned(stack.url, {
        principal: stack.operator,
        service: 'events',
        path: '/_local/events',
      });
      expect(res.status).toBe(200);
      const events = res.json<LocalEvent[]>();
      expect(events.map((e) => [e.source, e['detail-type'], e.detail])).toEqual([
        ['latchkey', 'ApiKeyCreated', { key_id: 'k1' }],
        ['latchkey', 'ApiKeyRevoked', { key_id: 'k1' }],
      ]);
      expect(events[0]?.id).toBe(out.Entries?.[0]?.EventId);
    } finally {
      client.destroy();
    }
  });
});

describe('local Secrets Manager', () => {
  let client: SecretsManagerClient;
  beforeAll(() => {
    client = new SecretsManagerClient({});
  });
  afterAll(() => client.destroy());
  const token = (n: number) => `test-version-${String(n).padStart(4, '0')}-${'x'.repeat(20)}`;
  const stagesOf = async (id: string) =>
    (await client.send(new DescribeSecretCommand({ SecretId: id }))).VersionIdsToStages ?? {};
  const valueAt = async (id: string, stage: string) =>
    (await client.send(new GetSecretValueCommand({ SecretId: id, VersionStage: stage }))).SecretString;

  it('creates, updates and reads a secret', async () => {
    await client.send(new CreateSecretCommand({ Name: 'latchkey/demo', SecretString: 'v1' }));
    await client.send(new PutSecretValueCommand({ SecretId: 'latchkey/demo', SecretString: 'v2' }));
    const current = await client.send(new GetSecretValueCommand({ SecretId: 'latchkey/demo' }));
    expect(current.SecretString).toBe('v2');
    expect(current.VersionStages).toEqual(['AWSCURRENT']);
    const previous = await client.send(
      new GetSecretValueCommand({ SecretId: current.ARN, VersionStage: 'AWSPREVIOUS' }),
    );
    expect(previous.SecretString).toBe('v1');
    await expect(
      client.send(new PutSecretValueCommand({ SecretId: 'latchkey/missing', SecretString: 'x' })),
    ).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(
      client.send(new CreateSecretCommand({ Name: 'latchkey/demo', SecretString: 'again' })),
    ).rejects.toBeInstanceOf(ResourceExistsException);
  });

  it('keeps versions with staging labels: stage as AWSPENDING, then promote to AWSCURRENT', async () => {
    const created = await client.send(
      new CreateSecretCommand({ Name: 'latchkey/staged', SecretString: 'v1', ClientRequestToken: token(1) }),
    );
    expect(created.VersionId).toBe(token(1));
    const arn = created.ARN ?? '';
    const staged = await client.send(
      new PutSecretValueCommand({
        SecretId: arn,
        SecretString: 'v2',
        ClientRequestToken: token(2),
        VersionStages: ['AWSPENDING'],
      }),
    );
    expect(staged).toMatchObject({ VersionId: token(2), VersionStages: ['AWSPENDING'] });
    // Staging changes nothing for readers of AWSCURRENT.
    expect(await valueAt(arn, 'AWSCURRENT')).toBe('v1');
    expect(await valueAt(arn, 'AWSPENDING')).toBe('v2');
    expect(await stagesOf(arn)).toEqual({ [token(1)]: ['AWSCURRENT'], [token(2)]: ['AWSPENDING'] });

    // A second staging moves the label; the version it left has none (deprecated, still readable by id).
    await client.send(
      new PutSecretValueCommand({
        SecretId: arn,
        SecretString: 'v3',
        ClientRequestToken: token(3),
        VersionStages: ['AWSPENDING'],
      }),
    );
    expect(await stagesOf(arn)).toEqual({ [token(1)]: ['AWSCURRENT'], [token(3)]: ['AWSPENDING'] });
    const deprecated = await client.send(new GetSecretValueCommand({ SecretId: arn, VersionId: token(2) }));
    expect(deprecated).toMatchObject({ SecretString: 'v2', VersionStages: [] });

    // Promote: AWSCURRENT moves, the version it left becomes AWSPREVIOUS.
    await client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: arn,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: token(3),
        RemoveFromVersionId: token(1),
      }),
    );
    expect(await stagesOf(arn)).toEqual({
      [token(1)]: ['AWSPREVIOUS'],
      [token(3)]: ['AWSPENDING', 'AWSCURRENT'],
    });
    expect(await valueAt(arn, 'AWSCURRENT')).toBe('v3');
    expect(await valueAt(arn, 'AWSPREVIOUS')).toBe('v1');
    const byId = await client.send(
      new GetSecretValueCommand({
        SecretId: 'latchkey/staged',
        VersionId: token(3),
        VersionStage: 'AWSCURRENT',
      }),
    );
    expect(byId.SecretString).toBe('v3');

    // Removing a label other than AWSCURRENT needs only RemoveFromVersionId.
    await client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: arn,
        VersionStage: 'AWSPENDING',
        RemoveFromVersionId: token(3),
      }),
    );
    expect(await stagesOf(arn)).toEqual({ [token(1)]: ['AWSPREVIOUS'], [token(3)]: ['AWSCURRENT'] });
    await expect(valueAt(arn, 'AWSPENDING')).rejects.toBeInstanceOf(ResourceNotFoundException);

    // A plain PutSecretValue is current at once; AWSPREVIOUS follows the version it replaced.
    await client.send(
      new PutSecretValueCommand({ SecretId: arn, SecretString: 'v4', ClientRequestToken: token(4) }),
    );
    expect(await stagesOf(arn)).toEqual({ [token(3)]: ['AWSPREVIOUS'], [token(4)]: ['AWSCURRENT'] });
  });

  it('refuses stage moves the real service refuses', async () => {
    const { ARN } = await client.send(
      new CreateSecretCommand({ Name: 'latchkey/moves', SecretString: 'v1', ClientRequestToken: token(11) }),
    );
    const arn = ARN ?? '';
    await client.send(
      new PutSecretValueCommand({
        SecretId: arn,
        SecretString: 'v2',
        ClientRequestToken: token(12),
        VersionStages: ['AWSPENDING'],
      }),
    );
    const move = (input: { MoveToVersionId?: string; RemoveFromVersionId?: string; VersionStage?: string }) =>
      client.send(
        new UpdateSecretVersionStageCommand({ SecretId: arn, VersionStage: 'AWSCURRENT', ...input }),
      );
    // AWSCURRENT is on token(11): moving it must name that version...
    await expect(move({ MoveToVersionId: token(12) })).rejects.toBeInstanceOf(InvalidParameterException);
    // ...and no other.
    await expect(move({ MoveToVersionId: token(12), RemoveFromVersionId: token(12) })).rejects.toBeInstanceOf(
      InvalidParameterException,
    );
    // AWSCURRENT cannot just be removed, and a label is removed only from the version that has it.
    await expect(move({ RemoveFromVersionId: token(11) })).rejects.toBeInstanceOf(InvalidParameterException);
    await expect(move({ VersionStage: 'AWSPENDING', RemoveFromVersionId: token(11) })).rejects.toBeInstanceOf(
      InvalidParameterException,
    );
    await expect(move({ MoveToVersionId: token(99), RemoveFromVersionId: token(11) })).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
    // Nothing moved.
    expect(await stagesOf(arn)).toEqual({ [token(11)]: ['AWSCURRENT'], [token(12)]: ['AWSPENDING'] });
  });

  it('treats a repeated ClientRequestToken as the same request, and refuses it with another value', async () => {
    const { ARN } = await client.send(new CreateSecretCommand({ Name: 'latchkey/idem', SecretString: 'v1' }));
    const arn = ARN ?? '';
    const put = (value: string) =>
      client.send(
        new PutSecretValueCommand({
          SecretId: arn,
          SecretString: value,
          ClientRequestToken: token(21),
          VersionStages: ['AWSPENDING'],
        }),
      );
    const first = await put('same');
    const again = await put('same');
    expect(again.VersionId).toBe(first.VersionId);
    expect(Object.keys(await stagesOf(arn))).toHaveLength(2);
    await expect(put('different')).rejects.toBeInstanceOf(ResourceExistsException);
    expect(await valueAt(arn, 'AWSPENDING')).toBe('same');
  });

  it('makes the first version of a secret created without a value AWSCURRENT', async () => {
    const { ARN, VersionId } = await client.send(new CreateSecretCommand({ Name: 'latchkey/empty' }));
    expect(VersionId).toBeUndefined();
    expect(await stagesOf(ARN ?? '')).toEqual({});
    await expect(valueAt(ARN ?? '', 'AWSCURRENT')).rejects.toBeInstanceOf(ResourceNotFoundException);
    const put = await client.send(
      new PutSecretValueCommand({
        SecretId: ARN,
        SecretString: 'first',
        ClientRequestToken: token(31),
        VersionStages: ['AWSPENDING'],
      }),
    );
    expect(put.VersionStages?.sort()).toEqual(['AWSCURRENT', 'AWSPENDING']);
    expect(await valueAt(ARN ?? '', 'AWSCURRENT')).toBe('first');
  });
});
