/** The local KMS, EventBridge and Secrets Manager endpoints, called with the real SDK clients. */
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
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { LocalEvent } from '../../local/eventbridge';
import type { LocalStack } from '../../local/stack';
import { send, startTestStack } from '../support/local-stack';

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
      const res = await send(stack.url, { path: '/_local/events' });
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
  it('creates, updates and reads a secret', async () => {
    const client = new SecretsManagerClient({});
    try {
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
    } finally {
      client.destroy();
    }
  });
});
