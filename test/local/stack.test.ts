/** The stack as `npm start` runs it: its own DynamoDB Local, data and config under a data dir. */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DecryptCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { freePort } from '../../local/dynamodb';
import { health, type LocalStack, readEnvFile, startLocalStack } from '../../local/stack';
import { send, sendSigned } from '../support/local-stack';

let dataDir: string;
beforeAll(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'latchkey-stack-'));
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** The local KMS signs nothing but a known caller's requests: the stack's operator here. */
const kmsAt = (stack: LocalStack) =>
  new KMSClient({
    endpoint: stack.url,
    region: 'us-east-1',
    credentials: {
      accessKeyId: stack.operator.access_key_id,
      secretAccessKey: stack.operator.secret_access_key,
    },
  });

describe('persistent local stack', () => {
  it('starts DynamoDB Local, keeps data and credentials across restarts, and cleans up after itself', async () => {
    const before = process.env.AWS_ENDPOINT_URL_KMS;
    const jestDynamo = process.env.AWS_ENDPOINT_URL_DYNAMODB;
    const first = await startLocalStack({ port: 0, dynamoPort: 0, dataDir, quiet: true });
    let ciphertext: Uint8Array | undefined;
    try {
      expect((await send(first.url, { path: '/_local/health' })).status).toBe(200);
      expect(first.dynamoEndpoint).not.toBe(jestDynamo);
      // Files: credentials (600), env for `npm run invoke`, the KMS key.
      const credentials = JSON.parse(readFileSync(join(dataDir, 'credentials.json'), 'utf8'));
      expect(credentials.principals.map((p: { name: string }) => p.name)).toEqual([
        'super-admin',
        'org-owner',
        'workspace-admin',
        'auditor',
        'member',
      ]);
      expect(readEnvFile(join(dataDir, 'env.json'))?.env.AWS_ENDPOINT_URL_KMS).toBe(first.url);
      const kms = kmsAt(first);
      ciphertext = (
        await kms.send(new EncryptCommand({ KeyId: 'alias/latchkey-local', Plaintext: Buffer.from('kept') }))
      ).CiphertextBlob;
      kms.destroy();
      const admin = first.credentials[0];
      if (!admin) throw new Error('no admin');
      const scopes = await sendSigned(first.url, { principal: admin, path: '/v1/api-keys/scopes' });
      expect(scopes.status).toBe(200);
      expect(scopes.json<{ items: { scope: string }[] }>().items.map((e) => e.scope)).toContain(
        'agents:read',
      );
    } finally {
      await first.stop();
    }
    expect(process.env.AWS_ENDPOINT_URL_KMS).toBe(before);
    expect(existsSync(join(dataDir, 'env.json'))).toBe(false);
    expect(await health(first.dynamoEndpoint, {})).toMatchObject({ status: 503 });

    // Same DynamoDB port: the handlers' SDK clients (made once per process) keep the endpoint they
    // were made with, and the second start runs the admin seed through them.
    const dynamoPort = Number(new URL(first.dynamoEndpoint).port);
    const second = await startLocalStack({ port: 0, dynamoPort, dataDir, quiet: true });
    try {
      expect(second.credentials).toEqual(first.credentials);
      expect(second.operator).toEqual(first.operator);
      const kms = kmsAt(second);
      const out = await kms.send(new DecryptCommand({ CiphertextBlob: ciphertext }));
      kms.destroy();
      expect(Buffer.from(out.Plaintext ?? []).toString()).toBe('kept');
    } finally {
      await second.stop();
    }
  });
});

describe('health', () => {
  it('answers 503 when DynamoDB does not answer', async () => {
    const nobody = `http://127.0.0.1:${await freePort()}`;
    expect(await health(nobody, {})).toMatchObject({ status: 503, body: { status: 'unavailable' } });
  });
});
