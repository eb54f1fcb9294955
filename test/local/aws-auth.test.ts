/**
 * The local KMS, EventBridge and Secrets Manager endpoints (and `/_local/events`) answer only
 * requests signed by a caller the stack knows, and only what that caller's access allows, as the
 * real services do: unsigned, unknown key, wrong secret, stale date → refused; management
 * principals → AccessDenied; a function's role → exactly its declared grants; the operator (the
 * identity of tests and the stack itself) → everything. Nothing is done for a refused request.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DecryptCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { dayOf } from '../../functions/domain/api-key';
import { functions } from '../../lib/declaration';
import { type AccessKeys, LOCAL_ACCOUNT_ID, type LocalPrincipal, principal } from '../../local/credentials';
import type { LocalEvent } from '../../local/eventbridge';
import { roleArn } from '../../local/iam';
import { scheduledEvent } from '../../local/scheduler';
import type { LocalStack } from '../../local/stack';
import { type HttpResponse, send, sendSigned, signedJson, startTestStack } from '../support/local-stack';

const REGION = 'us-east-1';
const KEY_ALIAS_ARN = `arn:aws:kms:${REGION}:${LOCAL_ACCOUNT_ID}:alias/latchkey-local`;
const BUS_ARN = `arn:aws:events:${REGION}:${LOCAL_ACCOUNT_ID}:event-bus/latchkey`;
const context = { key_id: 'key_auth', organization_id: 'org_auth' };

let stack: LocalStack;
let admin: LocalPrincipal;
/** Made by the operator: what an attacker would find in a scanned `metadata_ciphertext`. */
let ciphertext: Uint8Array;
/** A `latchkey/` secret holding a value, made by the operator. */
let secretArn: string;

const sdkKeys = (k: AccessKeys) => ({ accessKeyId: k.access_key_id, secretAccessKey: k.secret_access_key });

/** SDK clients for the three services, from the stack's environment, signing with `keys`. */
function clientsAs(keys: AccessKeys) {
  const config = { credentials: sdkKeys(keys), maxAttempts: 1 };
  const kms = new KMSClient(config);
  const events = new EventBridgeClient(config);
  const secrets = new SecretsManagerClient(config);
  return {
    decrypt: () => kms.send(new DecryptCommand({ CiphertextBlob: ciphertext, EncryptionContext: context })),
    encrypt: () =>
      kms.send(
        new EncryptCommand({
          KeyId: 'alias/latchkey-local',
          Plaintext: Buffer.from('x'),
          EncryptionContext: context,
        }),
      ),
    putRevoked: (keyId: string) =>
      events.send(
        new PutEventsCommand({
          Entries: [
            {
              EventBusName: 'latchkey',
              Source: 'latchkey',
              DetailType: 'ApiKeyRevoked',
              Detail: JSON.stringify({ key_id: keyId }),
            },
          ],
        }),
      ),
    getSecret: () => secrets.send(new GetSecretValueCommand({ SecretId: secretArn })),
    describeSecret: () => secrets.send(new DescribeSecretCommand({ SecretId: secretArn })),
    destroy: () => {
      kms.destroy();
      events.destroy();
      secrets.destroy();
    },
  };
}

/** Runs `body` with clients signing as `keys`, then destroys them. */
async function as<T>(keys: AccessKeys, body: (c: ReturnType<typeof clientsAs>) => Promise<T>): Promise<T> {
  const c = clientsAs(keys);
  try {
    return await body(c);
  } finally {
    c.destroy();
  }
}

const roleKeys = (fn: (typeof functions)[keyof typeof functions]) => stack.lambdas.roles.of(fn).keys;
const revokedFor = (keyId: string) =>
  stack
    .events()
    .filter((e) => e['detail-type'] === 'ApiKeyRevoked' && JSON.stringify(e.detail).includes(keyId));

beforeAll(async () => {
  stack = await startTestStack();
  const first = stack.credentials[0];
  if (!first) throw new Error('no admin principal');
  admin = first;
  // Outside any function, the SDK signs as the stack's operator (the environment's keys).
  const kms = new KMSClient({});
  const sm = new SecretsManagerClient({});
  try {
    ciphertext =
      (
        await kms.send(
          new EncryptCommand({
            KeyId: 'alias/latchkey-local',
            Plaintext: Buffer.from('{"owner":"team-a"}'),
            EncryptionContext: context,
          }),
        )
      ).CiphertextBlob ?? new Uint8Array();
    secretArn =
      (
        await sm.send(
          new CreateSecretCommand({ Name: 'latchkey/auth-test', SecretString: 'top secret value' }),
        )
      ).ARN ?? '';
  } finally {
    kms.destroy();
    sm.destroy();
  }
});
afterAll(async () => {
  await stack?.stop();
});

/** A raw AWS JSON request, as curl would send it. */
const raw = (target: string, body: unknown, headers: Record<string, string> = {}) => ({
  method: 'POST',
  path: '/',
  headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': target, ...headers },
  body: JSON.stringify(body),
});

const refused = (res: HttpResponse, type: string) => {
  expect({ status: res.status, type: res.json<{ __type: string }>().__type }).toEqual({ status: 400, type });
  expect(res.headers['x-amzn-errortype']).toBe(type);
};

describe('unsigned requests', () => {
  it('KMS: refuses to decrypt a scanned ciphertext', async () => {
    const res = await send(
      stack.url,
      raw('TrentService.Decrypt', {
        CiphertextBlob: Buffer.from(ciphertext).toString('base64'),
        EncryptionContext: context,
      }),
    );
    refused(res, 'MissingAuthenticationTokenException');
    expect(res.text).not.toContain('Plaintext');
  });

  it('EventBridge: puts nothing on the bus', async () => {
    const keyId = `unsigned-${randomUUID()}`;
    const res = await send(
      stack.url,
      raw('AWSEvents.PutEvents', {
        Entries: [
          {
            EventBusName: 'latchkey',
            Source: 'latchkey',
            DetailType: 'ApiKeyRevoked',
            Detail: `{"key_id":"${keyId}"}`,
          },
        ],
      }),
    );
    refused(res, 'MissingAuthenticationTokenException');
    expect(revokedFor(keyId)).toEqual([]);
  });

  it('Secrets Manager: reads no value and creates no secret', async () => {
    const read = await send(stack.url, raw('secretsmanager.GetSecretValue', { SecretId: secretArn }));
    refused(read, 'MissingAuthenticationTokenException');
    expect(read.text).not.toContain('top secret value');
    const create = await send(
      stack.url,
      raw('secretsmanager.CreateSecret', { Name: 'latchkey/unsigned', SecretString: 'x' }),
    );
    refused(create, 'MissingAuthenticationTokenException');
    const sm = new SecretsManagerClient({});
    try {
      await expect(
        sm.send(new DescribeSecretCommand({ SecretId: 'latchkey/unsigned' })),
      ).rejects.toBeInstanceOf(ResourceNotFoundException);
    } finally {
      sm.destroy();
    }
  });
});

describe('bad signatures', () => {
  it('refuses a key the stack does not know, on every service', async () => {
    const stranger = principal('stranger');
    await as(stranger, async (c) => {
      for (const call of [c.decrypt, () => c.putRevoked('k'), c.getSecret]) {
        await expect(call()).rejects.toMatchObject({
          name: 'UnrecognizedClientException',
          message: 'The security token included in the request is invalid.',
        });
      }
    });
  });

  it("refuses a known key signed with the wrong secret (a function's key id without its secret)", async () => {
    const forged = { ...roleKeys(functions.getKey), secret_access_key: principal('x').secret_access_key };
    await as(forged, async (c) => {
      for (const call of [c.decrypt, () => c.putRevoked('k'), c.describeSecret]) {
        await expect(call()).rejects.toMatchObject({
          name: 'InvalidSignatureException',
          message: expect.stringContaining('does not match the signature you provided'),
        });
      }
    });
  });

  it('refuses a stale signature and one scoped to another service, even from the operator', async () => {
    const body = JSON.stringify({
      CiphertextBlob: Buffer.from(ciphertext).toString('base64'),
      EncryptionContext: context,
    });
    const headers = { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.Decrypt' };
    const stale = await sendSigned(stack.url, {
      principal: stack.operator,
      service: 'kms',
      method: 'POST',
      path: '/',
      headers,
      body,
      signingDate: new Date(Date.now() - 10 * 60_000),
    });
    refused(stale, 'InvalidSignatureException');
    expect(stale.json<{ message: string }>().message).toMatch(/^Signature expired/);
    const elsewhere = await sendSigned(stack.url, {
      principal: stack.operator,
      service: 'execute-api',
      method: 'POST',
      path: '/',
      headers,
      body,
    });
    refused(elsewhere, 'InvalidSignatureException');
    expect(stale.text + elsewhere.text).not.toContain('Plaintext');
    // Signed properly, the same request decrypts: the refusals above were the signature's.
    const ok = await sendSigned(stack.url, {
      principal: stack.operator,
      service: 'kms',
      method: 'POST',
      path: '/',
      headers,
      body,
    });
    expect(ok.status).toBe(200);
  });
});

describe('management principals', () => {
  it('are denied every KMS, EventBridge and Secrets Manager call, as AWS words it', async () => {
    for (const p of stack.credentials) {
      const denied = (action: string, resource: string) => ({
        name: 'AccessDeniedException',
        $fault: 'client',
        message:
          `User: ${p.arn} is not authorized to perform: ${action} on resource: ${resource} ` +
          `because no identity-based policy allows the ${action} action`,
      });
      const keyId = `admin-${randomUUID()}`;
      await as(p, async (c) => {
        await expect(c.decrypt()).rejects.toMatchObject(denied('kms:Decrypt', KEY_ALIAS_ARN));
        await expect(c.putRevoked(keyId)).rejects.toMatchObject(denied('events:PutEvents', BUS_ARN));
        await expect(c.getSecret()).rejects.toMatchObject(denied('secretsmanager:GetSecretValue', secretArn));
      });
      expect(revokedFor(keyId)).toEqual([]);
    }
  });
});

describe('function roles', () => {
  const deniedTo = (fn: { name: string }, action: string) => ({
    name: 'AccessDeniedException',
    message: expect.stringContaining(`User: ${roleArn(fn.name)} is not authorized to perform: ${action}`),
  });

  it("the authorizer's role may not decrypt metadata, publish events or touch secrets", async () => {
    const keyId = `authorizer-${randomUUID()}`;
    await as(roleKeys(functions.authorizer), async (c) => {
      await expect(c.decrypt()).rejects.toMatchObject(deniedTo(functions.authorizer, 'kms:Decrypt'));
      await expect(c.encrypt()).rejects.toMatchObject(deniedTo(functions.authorizer, 'kms:Encrypt'));
      await expect(c.putRevoked(keyId)).rejects.toMatchObject(
        deniedTo(functions.authorizer, 'events:PutEvents'),
      );
      await expect(c.describeSecret()).rejects.toMatchObject(
        deniedTo(functions.authorizer, 'secretsmanager:DescribeSecret'),
      );
    });
    expect(revokedFor(keyId)).toEqual([]);
  });

  it('each role gets exactly its declared grants', async () => {
    await as(roleKeys(functions.getKey), async (c) => {
      const out = await c.decrypt();
      expect(Buffer.from(out.Plaintext ?? []).toString()).toBe('{"owner":"team-a"}');
      await expect(c.encrypt()).rejects.toMatchObject(deniedTo(functions.getKey, 'kms:Encrypt'));
    });
    await as(roleKeys(functions.createKey), async (c) => {
      await expect(c.encrypt()).resolves.toBeDefined();
      await expect(c.decrypt()).rejects.toMatchObject(deniedTo(functions.createKey, 'kms:Decrypt'));
    });
    const keyId = `consumer-${randomUUID()}`;
    await as(roleKeys(functions.auditConsumer), async (c) => {
      await expect(c.putRevoked(keyId)).resolves.toMatchObject({ FailedEntryCount: 0 });
    });
    expect(revokedFor(keyId)).toHaveLength(1);
    await as(roleKeys(functions.rotator), async (c) => {
      await expect(c.describeSecret()).resolves.toMatchObject({ ARN: secretArn });
      // Rotation writes a secret; it never reads one.
      await expect(c.getSecret()).rejects.toMatchObject(
        deniedTo(functions.rotator, 'secretsmanager:GetSecretValue'),
      );
    });
  });
});

describe('/_local/events', () => {
  const read = (principal?: AccessKeys, service = 'events') =>
    principal
      ? sendSigned(stack.url, { principal, service, path: '/_local/events' })
      : send(stack.url, { path: '/_local/events' });

  it('answers only the operator: the bus holds what no other principal may read', async () => {
    const unsigned = await read();
    expect(unsigned.status).toBe(403);
    expect(unsigned.headers['x-amzn-errortype']).toBe('MissingAuthenticationTokenException');
    for (const who of [admin, roleKeys(functions.auditConsumer), principal('stranger')]) {
      const res = await read(who);
      expect(res.status).toBe(403);
      expect(res.text).not.toContain('event-bus-name');
    }
    expect((await read(stack.operator, 'execute-api')).status).toBe(403);
    const ok = await read(stack.operator);
    expect(ok.status).toBe(200);
    expect(ok.json<LocalEvent[]>()).toEqual(JSON.parse(JSON.stringify(stack.events())));
  });
});

describe('the functions, through the stack, as their roles', () => {
  const call = (method: string, path: string, body?: unknown) =>
    signedJson(stack.url, admin, method, path, body);

  it('CreateKey encrypts the metadata and GetKey decrypts it', async () => {
    const created = await call('POST', '/v1/api-keys', {
      name: 'with metadata',
      scopes: ['agents:read'],
      metadata: { owner: 'team-a', cost_center: 42 },
    });
    expect(created.status).toBe(201);
    const got = await call('GET', `/v1/api-keys/${created.body.id as string}`);
    expect(got.status).toBe(200);
    expect(got.body.metadata).toEqual({ owner: 'team-a', cost_center: 42 });
  });

  it('the Rotator writes the new token into the destination secret', async () => {
    const destination = await new SecretsManagerClient({}).send(
      new CreateSecretCommand({ Name: `latchkey/rotated-${randomUUID()}`, SecretString: '{"seed":true}' }),
    );
    const created = await call('POST', '/v1/api-keys', {
      name: 'rotated',
      scopes: ['agents:read'],
      rotation: { every_days: 30, grace_period_seconds: 60, destination: destination.ARN },
    });
    expect(created.status).toBe(201);
    // Due now, so the real handler (which rotates what is due at its clock) picks it.
    const due = new Date(Date.now() - 60_000).toISOString();
    const db = new DynamoDBClient({});
    try {
      await db.send(
        new UpdateItemCommand({
          TableName: stack.tables.KEYS_TABLE_NAME,
          Key: { id: { S: created.body.id as string } },
          UpdateExpression: 'SET rotation_due_at = :at, rotation_due_day = :day',
          ExpressionAttributeValues: { ':at': { S: due }, ':day': { S: dayOf(due) } },
        }),
      );
    } finally {
      db.destroy();
    }
    await expect(
      stack.lambdas.invoke(functions.rotator, scheduledEvent(functions.rotator, REGION)),
    ).resolves.toMatchObject({ rotated: 1, failed: 0 });
    const sm = new SecretsManagerClient({});
    try {
      const current = await sm.send(new GetSecretValueCommand({ SecretId: destination.ARN }));
      expect(JSON.parse(current.SecretString ?? '{}')).toMatchObject({ key_id: created.body.id });
    } finally {
      sm.destroy();
    }
  });
});
