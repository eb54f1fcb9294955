/**
 * Local KMS (`TrentService`): Encrypt, Decrypt, GenerateDataKey and DescribeKey over one symmetric
 * key. AES-256-GCM with the encryption context as additional authenticated data, so a ciphertext
 * only decrypts with the context it was made with, as on AWS. Key material lives in
 * `<dataDir>/kms.json` (mode 600) or in memory; it is never printed.
 */
import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import {
  type AwsInput,
  type AwsService,
  AwsServiceError,
  optionalString,
  requiredString,
  stringMap,
} from './aws-json';
import { jsonFile } from './store';

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const MAX_PLAINTEXT = 4096;

interface KeyFile {
  readonly key_id: string;
  /** base64, 32 bytes */
  readonly material: string;
  readonly created_at: string;
}

export interface LocalKmsOptions {
  /** The one known key, as the functions name it (`KMS_KEY_ID`): `alias/...`, a key id or an ARN. */
  readonly keyId: string;
  /** `<dataDir>/kms.json`; undefined keeps the key in memory. */
  readonly file?: string;
  readonly region: string;
  readonly accountId: string;
}

/** The explicit key id inside a configured identifier, when it names a key rather than an alias. */
function explicitKeyId(configured: string): string | undefined {
  const arn = /^arn:aws[\w-]*:kms:[^:]*:\d*:key\/(.+)$/.exec(configured);
  if (arn) return arn[1];
  return configured.startsWith('alias/') || configured.startsWith('arn:') ? undefined : configured;
}

function aliasName(configured: string): string | undefined {
  if (configured.startsWith('alias/')) return configured;
  return /^arn:aws[\w-]*:kms:[^:]*:\d*:(alias\/.+)$/.exec(configured)?.[1];
}

/** Canonical JSON of the context (sorted keys): the same map in any order gives the same AAD. */
export function contextAad(context: Record<string, string>): Buffer {
  const sorted = Object.fromEntries(Object.entries(context).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return Buffer.from(JSON.stringify(sorted), 'utf8');
}

function invalidCiphertext(): AwsServiceError {
  return new AwsServiceError(
    'InvalidCiphertextException',
    'The ciphertext is invalid or was not made with this encryption context.',
  );
}

export function localKms(options: LocalKmsOptions): AwsService {
  const store = jsonFile<KeyFile>(options.file, () => ({
    key_id: explicitKeyId(options.keyId) ?? randomUUID(),
    material: randomBytes(32).toString('base64'),
    created_at: new Date().toISOString(),
  }));
  const key = () => {
    const file = store.read();
    const keyId = explicitKeyId(options.keyId) ?? file.key_id;
    return { keyId, material: Buffer.from(file.material, 'base64'), createdAt: file.created_at };
  };
  const arnOf = (keyId: string) => `arn:aws:kms:${options.region}:${options.accountId}:key/${keyId}`;
  const alias = aliasName(options.keyId);

  /** Every spelling AWS accepts for the key: id, key ARN, alias name, alias ARN. */
  function resolve(identifier: string) {
    const k = key();
    const names = [k.keyId, arnOf(k.keyId), options.keyId];
    if (alias) names.push(alias, `arn:aws:kms:${options.region}:${options.accountId}:${alias}`);
    if (!names.includes(identifier))
      throw new AwsServiceError('NotFoundException', `Key '${identifier}' does not exist`);
    return k;
  }

  function encrypt(
    keyId: string,
    material: Buffer,
    plaintext: Buffer,
    context: Record<string, string>,
  ): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', material, iv);
    cipher.setAAD(contextAad(context));
    const data = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    const id = Buffer.from(keyId, 'utf8');
    return Buffer.concat([Buffer.from([VERSION, id.length]), id, iv, cipher.getAuthTag(), data]);
  }

  function plaintextOf(input: AwsInput): Buffer {
    const plaintext = Buffer.from(requiredString(input, 'Plaintext'), 'base64');
    if (plaintext.length < 1 || plaintext.length > MAX_PLAINTEXT) {
      throw new AwsServiceError('ValidationException', `Plaintext must be 1 to ${MAX_PLAINTEXT} bytes`);
    }
    return plaintext;
  }

  function checkAlgorithm(input: AwsInput): void {
    const algorithm = optionalString(input, 'EncryptionAlgorithm');
    if (algorithm && algorithm !== 'SYMMETRIC_DEFAULT') {
      throw new AwsServiceError(
        'InvalidKeyUsageException',
        `Algorithm ${algorithm} is not valid for this key`,
      );
    }
  }

  return {
    targetPrefix: 'TrentService',
    signingName: 'kms',
    operations: {
      Encrypt(input) {
        checkAlgorithm(input);
        const k = resolve(requiredString(input, 'KeyId'));
        const blob = encrypt(k.keyId, k.material, plaintextOf(input), stringMap(input, 'EncryptionContext'));
        return {
          CiphertextBlob: blob.toString('base64'),
          KeyId: arnOf(k.keyId),
          EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
        };
      },
      Decrypt(input) {
        checkAlgorithm(input);
        const requested = optionalString(input, 'KeyId');
        const k = requested ? resolve(requested) : key();
        const blob = Buffer.from(requiredString(input, 'CiphertextBlob'), 'base64');
        const idLength = blob[1] ?? 0;
        const headerLength = 2 + idLength + IV_BYTES + TAG_BYTES;
        if (blob[0] !== VERSION || blob.length < headerLength) throw invalidCiphertext();
        const blobKeyId = blob.subarray(2, 2 + idLength).toString('utf8');
        if (blobKeyId !== k.keyId) {
          if (requested)
            throw new AwsServiceError(
              'IncorrectKeyException',
              'The key ID in the request does not identify the key that encrypted the ciphertext',
            );
          throw invalidCiphertext();
        }
        const iv = blob.subarray(2 + idLength, 2 + idLength + IV_BYTES);
        const tag = blob.subarray(2 + idLength + IV_BYTES, headerLength);
        try {
          const decipher = createDecipheriv('aes-256-gcm', k.material, iv);
          decipher.setAAD(contextAad(stringMap(input, 'EncryptionContext')));
          decipher.setAuthTag(tag);
          const plaintext = Buffer.concat([decipher.update(blob.subarray(headerLength)), decipher.final()]);
          return {
            Plaintext: plaintext.toString('base64'),
            KeyId: arnOf(k.keyId),
            EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
          };
        } catch {
          throw invalidCiphertext();
        }
      },
      GenerateDataKey(input) {
        const k = resolve(requiredString(input, 'KeyId'));
        const spec = optionalString(input, 'KeySpec');
        const count = input.NumberOfBytes;
        const bytes =
          spec === 'AES_256'
            ? 32
            : spec === 'AES_128'
              ? 16
              : typeof count === 'number' && count >= 1 && count <= 1024
                ? count
                : 0;
        if (!bytes || (spec && count !== undefined)) {
          throw new AwsServiceError(
            'ValidationException',
            'Specify either KeySpec (AES_128 or AES_256) or NumberOfBytes (1-1024)',
          );
        }
        const plaintext = randomBytes(bytes);
        const blob = encrypt(k.keyId, k.material, plaintext, stringMap(input, 'EncryptionContext'));
        return {
          CiphertextBlob: blob.toString('base64'),
          Plaintext: plaintext.toString('base64'),
          KeyId: arnOf(k.keyId),
        };
      },
      DescribeKey(input) {
        const k = resolve(requiredString(input, 'KeyId'));
        return {
          KeyMetadata: {
            AWSAccountId: options.accountId,
            KeyId: k.keyId,
            Arn: arnOf(k.keyId),
            CreationDate: Date.parse(k.createdAt) / 1000,
            Enabled: true,
            Description: 'Latchkey local key',
            KeyUsage: 'ENCRYPT_DECRYPT',
            KeyState: 'Enabled',
            Origin: 'AWS_KMS',
            KeyManager: 'CUSTOMER',
            KeySpec: 'SYMMETRIC_DEFAULT',
            CustomerMasterKeySpec: 'SYMMETRIC_DEFAULT',
            EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
            MultiRegion: false,
          },
        };
      },
    },
  };
}
