/**
 * Local Secrets Manager (`secretsmanager`): CreateSecret, PutSecretValue, DescribeSecret,
 * UpdateSecretVersionStage and GetSecretValue, with versions and staging labels as the real service
 * keeps them, in `<dataDir>/secrets.json` (mode 600) or memory. Values are never printed or logged.
 *
 * Staging labels: each label is on at most one version; putting it on a version takes it off the one
 * that had it, and when `AWSCURRENT` moves, the version it left gets `AWSPREVIOUS`. The first version
 * of a secret is always `AWSCURRENT`. A version id is its `ClientRequestToken`: the same token with
 * the same value is the same request (SDK retries), with another value it is refused.
 */

import { randomUUID } from 'node:crypto';
import { type AwsInput, type AwsService, AwsServiceError, optionalString, requiredString } from './aws-json';
import { jsonFile } from './store';

const CURRENT = 'AWSCURRENT';
const PREVIOUS = 'AWSPREVIOUS';
/** Like the real service: past this many versions, the oldest ones without labels are removed. */
const MAX_VERSIONS = 100;

interface SecretVersion {
  readonly id: string;
  readonly secret_string?: string;
  /** base64 */
  readonly secret_binary?: string;
  readonly created_at: number;
  stages: string[];
}

interface Secret {
  readonly name: string;
  readonly arn: string;
  readonly created_at: number;
  last_changed_at: number;
  /** Oldest first. */
  versions: SecretVersion[];
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

function invalid(message: string): AwsServiceError {
  return new AwsServiceError('InvalidParameterException', message);
}

export function localSecretsManager(options: LocalSecretsManagerOptions): AwsService {
  const store = jsonFile<Record<string, Secret>>(options.file, () => ({}));
  const all = () => store.read();

  const find = (id: string): Secret | undefined => {
    const secrets = all();
    // Own names only: `constructor` or `__proto__` is no secret.
    return (
      (Object.hasOwn(secrets, id) ? secrets[id] : undefined) ??
      Object.values(secrets).find((s) => s.arn === id)
    );
  };
  const mustFind = (input: AwsInput): Secret => {
    const secret = find(requiredString(input, 'SecretId'));
    if (!secret) throw notFound();
    return secret;
  };
  const save = (secret: Secret) => {
    secret.last_changed_at = Date.now() / 1000;
    store.write({ ...all(), [secret.name]: secret });
  };

  /** The value of a CreateSecret / PutSecretValue request: exactly one of string or binary (or none, if allowed). */
  function value(input: AwsInput, required: boolean) {
    const secretString = optionalString(input, 'SecretString');
    const secretBinary = optionalString(input, 'SecretBinary');
    if (secretString !== undefined && secretBinary !== undefined) {
      throw invalid('You must provide either SecretString or SecretBinary, but not both.');
    }
    if (secretString === undefined && secretBinary === undefined) {
      if (required) throw invalid('You must provide either SecretString or SecretBinary.');
      return undefined;
    }
    return secretString !== undefined ? { secret_string: secretString } : { secret_binary: secretBinary };
  }

  function requestToken(input: AwsInput): string {
    const token = optionalString(input, 'ClientRequestToken') ?? randomUUID();
    if (token.length < 32 || token.length > 64) {
      throw new AwsServiceError(
        'ValidationException',
        "1 validation error detected: Value at 'clientRequestToken' failed to satisfy constraint: " +
          'Member must have length between 32 and 64',
      );
    }
    return token;
  }

  const sameValue = (v: SecretVersion, val: { secret_string?: string; secret_binary?: string }) =>
    v.secret_string === val.secret_string && v.secret_binary === val.secret_binary;
  const labelled = (secret: Secret, stage: string) => secret.versions.find((v) => v.stages.includes(stage));
  const versionById = (secret: Secret, id: string) => secret.versions.find((v) => v.id === id);

  /** Puts `stage` on `to` only; moving AWSCURRENT makes the version it left AWSPREVIOUS. */
  function attach(secret: Secret, stage: string, to: SecretVersion): void {
    const from = labelled(secret, stage);
    if (from === to) return;
    if (from) from.stages = from.stages.filter((s) => s !== stage);
    to.stages.push(stage);
    if (stage === CURRENT && from) attach(secret, PREVIOUS, from);
  }

  /** Deprecated versions (no labels) go once there are too many, oldest first. */
  function prune(secret: Secret): void {
    while (secret.versions.length > MAX_VERSIONS) {
      const oldest = secret.versions.findIndex((v) => v.stages.length === 0);
      if (oldest < 0) return;
      secret.versions.splice(oldest, 1);
    }
  }

  function stageList(input: AwsInput): string[] | undefined {
    const stages = input.VersionStages;
    if (stages === undefined || stages === null) return undefined;
    if (
      !Array.isArray(stages) ||
      stages.length === 0 ||
      stages.length > 20 ||
      !stages.every((s) => typeof s === 'string' && s.length > 0 && s.length <= 256)
    ) {
      throw new AwsServiceError('ValidationException', "'VersionStages' must be 1 to 20 staging labels");
    }
    return [...new Set(stages as string[])];
  }

  return {
    targetPrefix: 'secretsmanager',
    signingName: 'secretsmanager',
    operations: {
      CreateSecret(input) {
        const name = requiredString(input, 'Name');
        const val = value(input, false);
        const token = requestToken(input);
        const existing = find(name);
        if (existing) {
          // The SDK retries with the same ClientRequestToken: the same request is not a conflict.
          const same = versionById(existing, token);
          if (same && val && sameValue(same, val)) {
            return { ARN: existing.arn, Name: existing.name, VersionId: same.id };
          }
          throw new AwsServiceError(
            'ResourceExistsException',
            `The operation failed because the secret ${name} already exists.`,
          );
        }
        const suffix = randomUUID().replace(/-/g, '').slice(0, 6);
        const now = Date.now() / 1000;
        const secret: Secret = {
          name,
          arn: `arn:aws:secretsmanager:${options.region}:${options.accountId}:secret:${name}-${suffix}`,
          created_at: now,
          last_changed_at: now,
          versions: val ? [{ id: token, ...val, created_at: now, stages: [CURRENT] }] : [],
        };
        save(secret);
        return { ARN: secret.arn, Name: name, ...(val ? { VersionId: token } : {}) };
      },

      PutSecretValue(input) {
        const secret = mustFind(input);
        const val = value(input, true) as { secret_string?: string; secret_binary?: string };
        const token = requestToken(input);
        const stages = stageList(input) ?? [CURRENT];
        const existing = versionById(secret, token);
        if (existing) {
          if (!sameValue(existing, val)) {
            throw new AwsServiceError(
              'ResourceExistsException',
              `A version with ID ${token} already exists with a different value; versions cannot be changed.`,
            );
          }
          return { ARN: secret.arn, Name: secret.name, VersionId: token, VersionStages: existing.stages };
        }
        const version: SecretVersion = { id: token, ...val, created_at: Date.now() / 1000, stages: [] };
        // A secret's first version is always current.
        const labels =
          secret.versions.length === 0 && !stages.includes(CURRENT) ? [...stages, CURRENT] : stages;
        secret.versions.push(version);
        for (const stage of labels) attach(secret, stage, version);
        prune(secret);
        save(secret);
        return { ARN: secret.arn, Name: secret.name, VersionId: token, VersionStages: version.stages };
      },

      DescribeSecret(input) {
        const secret = mustFind(input);
        return {
          ARN: secret.arn,
          Name: secret.name,
          CreatedDate: secret.created_at,
          LastChangedDate: secret.last_changed_at,
          // Like the service: only versions with labels (the others are deprecated).
          VersionIdsToStages: Object.fromEntries(
            secret.versions.filter((v) => v.stages.length > 0).map((v) => [v.id, [...v.stages]]),
          ),
        };
      },

      UpdateSecretVersionStage(input) {
        const secret = mustFind(input);
        const stage = requiredString(input, 'VersionStage');
        const moveTo = optionalString(input, 'MoveToVersionId');
        const removeFrom = optionalString(input, 'RemoveFromVersionId');
        if (!moveTo && !removeFrom) {
          throw invalid('You must specify MoveToVersionId, RemoveFromVersionId, or both.');
        }
        const holder = labelled(secret, stage);
        const target = moveTo ? versionById(secret, moveTo) : undefined;
        if (moveTo && !target) {
          throw new AwsServiceError(
            'ResourceNotFoundException',
            `Secrets Manager can't find the specified secret version: ${moveTo}.`,
          );
        }
        if (removeFrom && holder?.id !== removeFrom) {
          throw invalid(
            moveTo
              ? `When you move staging label ${stage}, if you specify RemoveFromVersionId, it must be set ` +
                  `to the version that currently has the staging label ${stage}.`
              : `The staging label ${stage} is not attached to version ${removeFrom}.`,
          );
        }
        if (target) {
          if (holder && holder !== target && !removeFrom) {
            throw invalid(
              `The parameter RemoveFromVersionId can't be empty. Staging label ${stage} is currently ` +
                `attached to version ${holder.id}, so you must reference that version in RemoveFromVersionId.`,
            );
          }
          attach(secret, stage, target);
        } else if (holder) {
          if (stage === CURRENT) {
            throw invalid(
              `You can't remove the staging label ${CURRENT}; move it to another version with MoveToVersionId.`,
            );
          }
          holder.stages = holder.stages.filter((s) => s !== stage);
        }
        save(secret);
        return { ARN: secret.arn, Name: secret.name };
      },

      GetSecretValue(input) {
        const secret = mustFind(input);
        const versionId = optionalString(input, 'VersionId');
        const stage = optionalString(input, 'VersionStage');
        const v = versionId ? versionById(secret, versionId) : labelled(secret, stage ?? CURRENT);
        if (!v || (versionId && stage && !v.stages.includes(stage))) {
          throw new AwsServiceError(
            'ResourceNotFoundException',
            versionId
              ? `Secrets Manager can't find the specified secret value for VersionId: ${versionId}`
              : `Secrets Manager can't find the specified secret value for staging label: ${stage ?? CURRENT}`,
          );
        }
        return {
          ARN: secret.arn,
          Name: secret.name,
          VersionId: v.id,
          ...(v.secret_string !== undefined
            ? { SecretString: v.secret_string }
            : { SecretBinary: v.secret_binary }),
          VersionStages: [...v.stages],
          CreatedDate: v.created_at,
        };
      },
    },
  };
}
