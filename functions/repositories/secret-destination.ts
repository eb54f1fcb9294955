/**
 * The destination a key names for its rotated tokens (a Secrets Manager secret), the only place a
 * scheduled rotation ever puts one. Delivery follows Secrets Manager's own rotation protocol:
 *
 * 1. `stageToken`: the new token becomes a new version labelled `AWSPENDING`. Consumers read
 *    `AWSCURRENT`, so a staged token is invisible to them, and a destination we cannot write fails
 *    here, before the key has changed at all.
 * 2. (the caller rotates the key)
 * 3. `promoteToken`: `AWSCURRENT` moves to the staged version; Secrets Manager labels the version it
 *    left `AWSPREVIOUS`.
 *
 * Needs `secretsmanager:PutSecretValue`, `DescribeSecret` and `UpdateSecretVersionStage` (never a read
 * of any secret value).
 */
import {
  DescribeSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { registerClient } from '../shared/client-registry';

export const secretsManager = registerClient(new SecretsManagerClient({}));

const CURRENT = 'AWSCURRENT';
const PENDING = 'AWSPENDING';

export interface Delivery {
  readonly key_id: string;
  readonly key_prefix: string;
  readonly token: string;
  /** When the rotation happens (the key's `rotated_at` once it has). */
  readonly rotated_at: string;
  readonly previous_key_expires_at: string | null;
  /** The key's version once this rotation is written. */
  readonly version: number;
}

/**
 * The secret version id (`ClientRequestToken`, 32-64 characters) of one rotation: key id, the
 * version the rotation produces, and its time, e.g. `latchkey-AbCdEfGhIjKl-v000002-20250101T000000000Z`.
 * Deterministic, so the SDK's retries of one staging are one version, and every part is recorded on
 * the key (`id`, `version`, `rotated_at`). The time is there because the value cannot be read back
 * (no GetSecretValue grant): without it, an attempt that staged a version and then stopped before
 * rotating the key would leave that id holding a token no later attempt could match, and every
 * later attempt for the same version would fail with ResourceExistsException.
 */
export function rotationVersionId(d: Pick<Delivery, 'key_id' | 'version' | 'rotated_at'>): string {
  const at = d.rotated_at.replace(/[-:.]/g, '');
  return `latchkey-${d.key_id}-v${String(d.version).padStart(6, '0')}-${at}`;
}

/**
 * Writes the token as a new version labelled only `AWSPENDING` (moving the label off any version
 * that had it). Returns the version id. Throws what Secrets Manager throws; ResourceExistsException
 * means this exact version id already holds another token (a rotator racing on the same rotation).
 */
export async function stageToken(destination: string, d: Delivery): Promise<string> {
  const versionId = rotationVersionId(d);
  await secretsManager.send(
    new PutSecretValueCommand({
      SecretId: destination,
      ClientRequestToken: versionId,
      VersionStages: [PENDING],
      SecretString: JSON.stringify({
        key_id: d.key_id,
        key_prefix: d.key_prefix,
        api_key: d.token,
        rotated_at: d.rotated_at,
        previous_key_expires_at: d.previous_key_expires_at,
      }),
    }),
  );
  return versionId;
}

/**
 * Makes a staged version current: `AWSCURRENT` moves to it from the version that has it now (found
 * with DescribeSecret), and that one becomes `AWSPREVIOUS`. Promoting a version that is already
 * current changes nothing. Fails if the label moved between the two calls (the caller undoes).
 */
export async function promoteToken(destination: string, versionId: string): Promise<void> {
  const described = await secretsManager.send(new DescribeSecretCommand({ SecretId: destination }));
  const current = Object.entries(described.VersionIdsToStages ?? {}).find(([, stages]) =>
    stages.includes(CURRENT),
  )?.[0];
  if (current === versionId) return;
  await secretsManager.send(
    new UpdateSecretVersionStageCommand({
      SecretId: destination,
      VersionStage: CURRENT,
      MoveToVersionId: versionId,
      // A secret created without a value has no current version to take the label from.
      ...(current ? { RemoveFromVersionId: current } : {}),
    }),
  );
}

/**
 * Takes `AWSPENDING` off a version: after its promotion (the rotation is done), or when its rotation
 * did not happen (that token never becomes valid). Fails if the label is no longer on that version
 * (a later staging moved it), which callers may ignore.
 */
export async function unstageToken(destination: string, versionId: string): Promise<void> {
  await secretsManager.send(
    new UpdateSecretVersionStageCommand({
      SecretId: destination,
      VersionStage: PENDING,
      RemoveFromVersionId: versionId,
    }),
  );
}
