/**
 * Local Secrets Manager (`secretsmanager`): CreateSecret, PutSecretValue, GetSecretValue, kept in
 * `<dataDir>/secrets.json` (mode 600) or memory. Values are never printed or logged.
 */
import { randomUUID } from 'node:crypto';
import { type AwsInput, type AwsService, AwsServiceError, optionalString, requiredString } from './aws-json';
import { jsonFile } from './store';

interface SecretVersion {
  readonly version_id: string;
  readonly secret_string?: string;
  /** base64 */
  readonly secret_binary?: string;
  readonly created_at: number;
}

interface Secret {
  readonly name: string;
  readonly arn: string;
  readonly created_at: number;
  current: SecretVersion;
  previous?: SecretVersion;
}

export interface LocalSecretsManagerOptions {
  /** `<dataDir>/secrets.json`; undefined keeps secrets in memory. */
  readonly file?: string;
  readonly region: string;
  readonly accountId: string;
}

function notFound(): AwsServiceError {
  return new AwsServiceError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
}

export function localSecretsManager(options: LocalSecretsManagerOptions): AwsService {
  const store = jsonFile<Record<string, Secret>>(options.file, () => ({}));

  const find = (id: string): Secret | undefined => {
    const all = store.read();
    return all[id] ?? Object.values(all).find((s) => s.arn === id);
  };

  function version(input: AwsInput): SecretVersion {
    const secretString = optionalString(input, 'SecretString');
    const secretBinary = optionalString(input, 'SecretBinary');
    if ((secretString === undefined) === (secretBinary === undefined)) {
      throw new AwsServiceError(
        'InvalidParameterException',
        'Specify exactly one of SecretString and SecretBinary.',
      );
    }
    return {
      version_id: optionalString(input, 'ClientRequestToken') ?? randomUUID(),
      ...(secretString !== undefined ? { secret_string: secretString } : { secret_binary: secretBinary }),
      created_at: Date.now() / 1000,
    };
  }

  const save = (secret: Secret) => store.write({ ...store.read(), [secret.name]: secret });
  const stages = (s: Secret, v: SecretVersion) =>
    s.current.version_id === v.version_id ? ['AWSCURRENT'] : ['AWSPREVIOUS'];

  return {
    targetPrefix: 'secretsmanager',
    operations: {
      CreateSecret(input) {
        const name = requiredString(input, 'Name');
        const existing = find(name);
        const v = version(input);
        // The SDK retries with the same ClientRequestToken: the same request is not a conflict.
        if (existing && existing.current.version_id === v.version_id) {
          return { ARN: existing.arn, Name: existing.name, VersionId: v.version_id };
        }
        if (existing) {
          throw new AwsServiceError(
            'ResourceExistsException',
            `The operation failed because the secret ${name} already exists.`,
          );
        }
        const suffix = randomUUID().replace(/-/g, '').slice(0, 6);
        const secret: Secret = {
          name,
          arn: `arn:aws:secretsmanager:${options.region}:${options.accountId}:secret:${name}-${suffix}`,
          created_at: Date.now() / 1000,
          current: v,
        };
        save(secret);
        return { ARN: secret.arn, Name: name, VersionId: v.version_id };
      },
      PutSecretValue(input) {
        const secret = find(requiredString(input, 'SecretId'));
        if (!secret) throw notFound();
        const v = version(input);
        if (secret.current.version_id !== v.version_id) {
          secret.previous = secret.current;
          secret.current = v;
          save(secret);
        }
        return { ARN: secret.arn, Name: secret.name, VersionId: v.version_id, VersionStages: ['AWSCURRENT'] };
      },
      GetSecretValue(input) {
        const secret = find(requiredString(input, 'SecretId'));
        if (!secret) throw notFound();
        const stage = optionalString(input, 'VersionStage') ?? 'AWSCURRENT';
        const versionId = optionalString(input, 'VersionId');
        const candidates = [secret.current, ...(secret.previous ? [secret.previous] : [])];
        const v = versionId
          ? candidates.find((c) => c.version_id === versionId)
          : stage === 'AWSCURRENT'
            ? secret.current
            : stage === 'AWSPREVIOUS'
              ? secret.previous
              : undefined;
        if (!v) throw notFound();
        return {
          ARN: secret.arn,
          Name: secret.name,
          VersionId: v.version_id,
          ...(v.secret_string !== undefined
            ? { SecretString: v.secret_string }
            : { SecretBinary: v.secret_binary }),
          VersionStages: stages(secret, v),
          CreatedDate: v.created_at,
        };
      },
    },
  };
}
