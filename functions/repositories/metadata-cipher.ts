/**
 * Key metadata is encrypted with KMS under an encryption context naming the key and its
 * organization, so a ciphertext copied onto another key's item cannot be decrypted there.
 */
import { DecryptCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { registerClient } from '../shared/client-registry';
import { kmsKeyId } from '../shared/config';

export const kms = registerClient(new KMSClient({}));

export interface MetadataContext {
  readonly key_id: string;
  readonly organization_id: string;
}

function context(c: MetadataContext): Record<string, string> {
  return { key_id: c.key_id, organization_id: c.organization_id, purpose: 'latchkey:metadata' };
}

export async function encryptMetadata(metadata: unknown, c: MetadataContext): Promise<Uint8Array> {
  const out = await kms.send(
    new EncryptCommand({
      KeyId: kmsKeyId(),
      Plaintext: Buffer.from(JSON.stringify(metadata), 'utf8'),
      EncryptionContext: context(c),
    }),
  );
  if (!out.CiphertextBlob) throw new Error('KMS returned no ciphertext');
  return out.CiphertextBlob;
}

export async function decryptMetadata(ciphertext: Uint8Array, c: MetadataContext): Promise<unknown> {
  const out = await kms.send(
    new DecryptCommand({ CiphertextBlob: ciphertext, EncryptionContext: context(c), KeyId: kmsKeyId() }),
  );
  if (!out.Plaintext) throw new Error('KMS returned no plaintext');
  return JSON.parse(Buffer.from(out.Plaintext).toString('utf8'));
}
