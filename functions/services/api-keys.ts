/**
 * Key lifecycle operations behind the management routes: generate, store only hashes, encrypt
 * metadata, and change keys with conditional writes. Every write stamps `last_change` (actor,
 * source, kind) so the stream-fed audit trail can say who did what.
 */
import {
  type Actor,
  type ApiKeyItem,
  type ChangeKind,
  dayOf,
  type PublicApiKey,
  toPublic,
} from '../domain/api-key';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../domain/errors';
import { hashSecret } from '../domain/hashing';
import { normalizeCidr } from '../domain/ip-allowlist';
import { isSystemScope } from '../domain/scopes';
import { formatToken, isKeyId, keyPrefix, newKeyId, newSecret, SECRET_LENGTH } from '../domain/token';
import type { CreateKeyBody, UpdateKeyBody } from '../handlers/management/schemas';
import {
  getKey,
  type KeyChanges,
  KeyIdTakenError,
  type ListFilter,
  putNewKey,
  listKeys as queryKeys,
  updateKey,
} from '../repositories/keys-repository';
import { decryptMetadata, encryptMetadata } from '../repositories/metadata-cipher';

export type Clock = () => Date;
const systemClock: Clock = () => new Date();

const DAY_MS = 86_400_000;
const SECRET_PATTERN = new RegExp(`^[0-9A-Za-z]{${SECRET_LENGTH}}$`);

function stamp(kind: ChangeKind, actor: Actor, now: Date) {
  return { last_change: { ...actor, kind, at: now.toISOString() } };
}

function rotationDue(everyDays: number, from: Date) {
  const due = new Date(from.getTime() + everyDays * DAY_MS).toISOString();
  return { rotation_due_at: due, rotation_due_day: dayOf(due) };
}

export interface CreatedKey {
  readonly key: string;
  readonly record: PublicApiKey;
}

export async function createKey(
  input: CreateKeyBody,
  actor: Actor,
  clock: Clock = systemClock,
): Promise<CreatedKey> {
  if (input.key_type === 'system') {
    // Root mode (docs/management-api.md) is what unlocks system keys; until it exists nobody may mint one.
    throw new ForbiddenError('System keys require root mode.', [
      { field: 'key_type', message: 'requires root mode' },
    ]);
  }
  const now = clock();
  const expiresAt =
    input.expires_at ??
    (input.expires_in_days
      ? new Date(now.getTime() + input.expires_in_days * DAY_MS).toISOString()
      : undefined);
  const secret = newSecret();
  // Ids are random; a collision is astronomically unlikely, but the conditional put makes it safe.
  for (let attempt = 0; attempt < 3; attempt++) {
    const id = newKeyId();
    const item: ApiKeyItem = {
      id,
      kind: 'api_key',
      name: input.name,
      ...(input.description !== undefined ? { description: input.description } : {}),
      key_prefix: keyPrefix(input.environment, id),
      environment: input.environment,
      key_type: input.key_type,
      organization_id: input.organization_id,
      ...(input.key_type === 'workspace' ? { workspace_id: input.workspace_id ?? 'default' } : {}),
      scopes: input.scopes,
      ...(input.rate_limit !== undefined ? { rate_limit: input.rate_limit } : {}),
      ...(input.ip_allowlist?.length ? { ip_allowlist: input.ip_allowlist.map(normalizeCidr) } : {}),
      ...(expiresAt ? { expires_at: expiresAt, expires_day: dayOf(expiresAt) } : {}),
      status: 'active',
      created_by: actor.principal,
      created_at: now.toISOString(),
      created_sort: `${now.toISOString()}#${id}`,
      updated_at: now.toISOString(),
      secret_hash: hashSecret(secret),
      ...(input.rotation ? { rotation: input.rotation, ...rotationDue(input.rotation.every_days, now) } : {}),
      ...(input.metadata !== undefined
        ? {
            metadata_ciphertext: await encryptMetadata(input.metadata, {
              key_id: id,
              organization_id: input.organization_id,
            }),
          }
        : {}),
      version: 1,
      ...stamp('created', actor, now),
    };
    try {
      await putNewKey(item);
    } catch (error) {
      if (error instanceof KeyIdTakenError) continue;
      throw error;
    }
    return { key: formatToken(input.environment, id, secret), record: toPublic(item, now, input.metadata) };
  }
  throw new ConflictError('Could not allocate a unique key id; try again.');
}

async function mustGet(id: string): Promise<ApiKeyItem> {
  const item = isKeyId(id) ? await getKey(id) : undefined;
  if (!item) throw new NotFoundError(`No API key with id ${JSON.stringify(id)}.`);
  return item;
}

async function metadataOf(item: ApiKeyItem): Promise<unknown> {
  if (!item.metadata_ciphertext) return null;
  return decryptMetadata(item.metadata_ciphertext, {
    key_id: item.id,
    organization_id: item.organization_id,
  });
}

/** One key, with its decrypted metadata when `withMetadata` (needs kms:Decrypt). */
export async function describeKey(
  id: string,
  withMetadata = true,
  clock: Clock = systemClock,
): Promise<PublicApiKey> {
  const item = await mustGet(id);
  return toPublic(item, clock(), withMetadata ? await metadataOf(item) : undefined);
}

export async function listKeys(
  filter: ListFilter,
  limit: number,
  startKey: Record<string, unknown> | undefined,
  clock: Clock = systemClock,
) {
  const now = clock();
  const page = await queryKeys(filter, limit, now, startKey);
  return { items: page.items.map((i) => toPublic(i, now)), lastKey: page.lastKey };
}

export async function changeKey(
  id: string,
  patch: UpdateKeyBody,
  actor: Actor,
  clock: Clock = systemClock,
): Promise<PublicApiKey> {
  const item = await mustGet(id);
  const now = clock();
  if (item.status === 'revoked') {
    throw new ConflictError('This key is revoked; a revoked key cannot be changed or restored.');
  }
  const set: KeyChanges = { updated_at: now.toISOString() };
  const remove: (keyof KeyChanges)[] = [];
  const setOrRemove = <K extends keyof KeyChanges>(attr: K, value: KeyChanges[K] | null | undefined) => {
    if (value === undefined) return;
    if (value === null) remove.push(attr);
    else set[attr] = value;
  };
  if (patch.name !== undefined) set.name = patch.name;
  setOrRemove('description', patch.description);
  if (patch.scopes !== undefined) {
    // The schema cannot know the key's type: `system:*` stays on system keys (docs/scopes.md), as on create.
    const misplaced = patch.scopes.flatMap((scope, i) =>
      item.key_type !== 'system' && isSystemScope(scope)
        ? [{ field: `scopes.${i}`, message: `${scope} is for system keys only` }]
        : [],
    );
    if (misplaced.length) throw new ValidationError('System scopes need a system key.', misplaced);
    set.scopes = patch.scopes;
  }
  setOrRemove('rate_limit', patch.rate_limit);
  if (patch.ip_allowlist !== undefined) {
    setOrRemove('ip_allowlist', patch.ip_allowlist?.length ? patch.ip_allowlist.map(normalizeCidr) : null);
  }
  if (patch.expires_at !== undefined) {
    setOrRemove('expires_at', patch.expires_at);
    setOrRemove('expires_day', patch.expires_at === null ? null : dayOf(patch.expires_at));
  }
  if (patch.enabled !== undefined) set.status = patch.enabled ? 'active' : 'disabled';
  if (patch.metadata !== undefined) {
    setOrRemove(
      'metadata_ciphertext',
      patch.metadata === null
        ? null
        : await encryptMetadata(patch.metadata, { key_id: item.id, organization_id: item.organization_id }),
    );
  }
  if (patch.rotation !== undefined) {
    setOrRemove('rotation', patch.rotation);
    const due = patch.rotation ? rotationDue(patch.rotation.every_days, now) : null;
    setOrRemove('rotation_due_at', due?.rotation_due_at ?? null);
    setOrRemove('rotation_due_day', due?.rotation_due_day ?? null);
  }
  Object.assign(set, stamp('updated', actor, now));
  const updated = await updateKey(item.id, item.version, set, remove, {
    condition: {
      expression: '#st <> :revoked',
      names: { '#st': 'status' },
      values: { ':revoked': 'revoked' },
    },
  });
  return toPublic(updated, now, await metadataOf(updated));
}

export interface RotatedKey {
  readonly key: string;
  readonly record: PublicApiKey;
  readonly previous_key_expires_at: string | null;
  /** The key's version after this rotation. */
  readonly version: number;
}

/**
 * New secret, same id. The previous secret stays valid for `graceSeconds` (0: never again).
 * Conditional on the version read, so two concurrent rotations give one winner and one 409.
 *
 * `secret` is a pre-generated secret (`newSecret()`) for callers that must place the token somewhere
 * before the key accepts it (scheduled rotation stages it in the destination first); without it a
 * fresh one is generated here.
 */
export async function rotateKey(
  id: string,
  graceSeconds: number,
  actor: Actor,
  clock: Clock = systemClock,
  expectedVersion?: number,
  secret: string = newSecret(),
): Promise<RotatedKey> {
  if (!SECRET_PATTERN.test(secret))
    throw new Error('rotateKey: a pre-generated secret must come from newSecret()');
  const item = await mustGet(id);
  const now = clock();
  if (item.status === 'revoked')
    throw new ConflictError('This key is revoked; a revoked key cannot be rotated.');
  if (expectedVersion !== undefined && item.version !== expectedVersion) {
    throw new ConflictError('The key was changed by another request.');
  }
  const set: KeyChanges = {
    secret_hash: hashSecret(secret),
    rotated_at: now.toISOString(),
    updated_at: now.toISOString(),
    ...(item.rotation ? rotationDue(item.rotation.every_days, now) : {}),
    ...stamp('rotated', actor, now),
  };
  const remove: (keyof KeyChanges)[] = [];
  let previousExpiresAt: string | null = null;
  if (graceSeconds > 0) {
    previousExpiresAt = new Date(now.getTime() + graceSeconds * 1000).toISOString();
    set.previous_secret_hash = item.secret_hash;
    set.previous_secret_expires_at = previousExpiresAt;
  } else {
    remove.push('previous_secret_hash', 'previous_secret_expires_at');
  }
  const updated = await updateKey(item.id, item.version, set, remove, {
    condition: {
      expression: '#st <> :revoked',
      names: { '#st': 'status' },
      values: { ':revoked': 'revoked' },
    },
  });
  return {
    key: formatToken(item.environment, item.id, secret),
    record: toPublic(updated, now),
    previous_key_expires_at: previousExpiresAt,
    version: updated.version,
  };
}

/**
 * Permanent. Revoking a revoked key changes nothing and answers the same. A concurrent change (a
 * PATCH that bumped the version) does not stop a revoke: it re-reads and tries again.
 */
export async function revokeKey(id: string, actor: Actor, clock: Clock = systemClock): Promise<PublicApiKey> {
  for (let attempt = 1; ; attempt++) {
    const item = await mustGet(id);
    const now = clock();
    if (item.status === 'revoked') return toPublic(item, now);
    try {
      const updated = await updateKey(
        item.id,
        item.version,
        {
          status: 'revoked',
          revoked_at: now.toISOString(),
          revoked_by: actor.principal,
          updated_at: now.toISOString(),
          ...stamp('revoked', actor, now),
        },
        // A revoked key keeps no secret that could ever match again.
        [
          'previous_secret_hash',
          'previous_secret_expires_at',
          'rotation',
          'rotation_due_at',
          'rotation_due_day',
        ],
      );
      return toPublic(updated, now);
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= 5) throw error;
    }
  }
}
