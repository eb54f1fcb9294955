/**
 * Delivers a rotated token to the destination its key names (a Secrets Manager secret), the only
 * place a scheduled rotation ever puts it. The request token makes a retried delivery idempotent.
 */
import { PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

const secretsManager = new SecretsManagerClient({});

export interface Delivery {
  readonly key_id: string;
  readonly key_prefix: string;
  readonly token: string;
  readonly rotated_at: string;
  readonly previous_key_expires_at: string | null;
  /** The key's version after the rotation: one delivery per version. */
  readonly version: number;
}

export async function deliverToken(destination: string, d: Delivery): Promise<void> {
  await secretsManager.send(
    new PutSecretValueCommand({
      SecretId: destination,
      // 32-64 characters; the same rotation always sends the same token.
      ClientRequestToken: `latchkey-rotation-${d.key_id}-v${String(d.version).padStart(6, '0')}`,
      SecretString: JSON.stringify({
        key_id: d.key_id,
        key_prefix: d.key_prefix,
        api_key: d.token,
        rotated_at: d.rotated_at,
        previous_key_expires_at: d.previous_key_expires_at,
      }),
    }),
  );
}
