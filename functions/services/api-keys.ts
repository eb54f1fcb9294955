/**
 * Key lifecycle operations behind the management routes: generate, store only hashes, encrypt
 * metadata, and change keys with conditional writes (how races are decided: docs/key-changes.md).
 * Every write stamps `last_change` (actor, source, kind) so the stream-fed audit trail can say who
 * did what.
 */
import {
  type Actor,
  type ApiKeyItem,
  type ChangeKind,
  type CreateKeyInput,
  dayOf,
  type LiveState,
  type PublicApiKey,
  type RotateKeyInput,
  toPublic,
  type UpdateKeyInput,
} from '../domain/api-key';
import { ConflictError, GracePeriodOpenError, NotFoundError, ValidationError } from '../domain/errors';
import { hashSecret } from '../domain/hashing';
import { normalizeCidr } from '../domain/ip-allowlist';
import type { QuotaConfig } from '../domain/rate-limit';
import { isSystemScope } from '../domain/scopes';
import { formatToken, isKeyId, keyPrefix, newKeyId, newSecret, SECRET_LENGTH } from '../domain/token';
import { liveState } from '../repositories/counters-repository';
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
import { decodeNextToken, encodeNextToken } from '../shared/pagination';
import { assertScopesExist } from './api-registry';

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

/** A quota as created: `remaining` (default: one refill's worth), refills counted from `now`. */
function newQuota(input: CreateKeyInput, now: Date): QuotaConfig | undefined {
  const remaining = input.remaining ?? input.refill_amount;
  if (remaining === undefined) return undefined;
  return {
    remaining,
    anchor_at: now.toISOString(),
    ...(input.refill_amount !== undefined && input.refill_interval !== undefined
      ? { refill_amount: input.refill_amount, refill_interval_seconds: input.refill_interval }
      : {}),
  };
}

/**
 * The quota after `patch` (docs/management-api.md#update): `undefined` when the patch leaves it
 * alone, `null` when it removes it. Giving `remaining` starts a fresh count now; the refill
 * schedule (`refill_interval`) moves only together with `remaining`, so a change never silently
 * restores or cuts what a key has left.
 */
function changedQuota(
  current: QuotaConfig | undefined,
  patch: UpdateKeyInput,
  now: Date,
): QuotaConfig | null | undefined {
  const { remaining, refill_amount: amount, refill_interval: interval } = patch;
  if (remaining === undefined && amount === undefined && interval === undefined) return undefined;
  const refuse = (field: string, message: string): never => {
    throw new ValidationError(`Invalid quota change: ${field}: ${message}`, [{ field, message }]);
  };
  if (interval !== undefined && remaining === undefined) {
    refuse(
      'refill_interval',
      'moves the refill schedule, so give remaining too (the quota then starts anew)',
    );
  }
  if (remaining === null) {
    if (amount != null || interval != null) refuse('remaining', 'null removes the quota and its refill');
    return null;
  }
  if (remaining === undefined) {
    // Only refill_amount: the next refills give the new amount, on the same schedule.
    if (!current?.refill_interval_seconds)
      refuse('refill_amount', 'needs refill_interval (this key has no refill)');
    if (amount === null)
      refuse('refill_amount', 'remove the refill with refill_interval: null and remaining');
    return { ...(current as QuotaConfig), refill_amount: amount as number };
  }
  const nextAmount = amount === undefined ? current?.refill_amount : (amount ?? undefined);
  const nextInterval = interval === undefined ? current?.refill_interval_seconds : (interval ?? undefined);
  if ((nextAmount === undefined) !== (nextInterval === undefined)) {
    refuse(
      nextAmount === undefined ? 'refill_amount' : 'refill_interval',
      'give refill_amount and refill_interval together',
    );
  }
  return {
    remaining,
    anchor_at: now.toISOString(),
    ...(nextAmount !== undefined && nextInterval !== undefined
      ? { refill_amount: nextAmount, refill_interval_seconds: nextInterval }
      : {}),
  };
}

/** The API's view of a key with its live use (last use, quota left): one small Query on the counters table. */
async function withUse(item: ApiKeyItem, now: Date, metadata?: unknown): Promise<PublicApiKey> {
  return toPublic(item, now, metadata, await liveState(item.id));
}

/** Live state for a page of keys: one Query per key, at most this many at once. */
const LIVE_READS_AT_ONCE = 10;

async function liveStates(items: readonly ApiKeyItem[]): Promise<LiveState[]> {
  const out: LiveState[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await liveState((items[i] as ApiKeyItem).id);
  };
  await Promise.all(Array.from({ length: Math.min(LIVE_READS_AT_ONCE, items.length) }, worker));
  return out;
}

export interface CreatedKey {
  readonly key: string;
  readonly record: PublicApiKey;
}

/**
 * Creates the key. Who may (and, for system keys, whether root mode is open) is decided before this
 * is called, by `authorize` (`access-control.ts`).
 */
export async function createKey(
  input: CreateKeyInput,
  actor: Actor,
  clock: Clock = systemClock,
): Promise<CreatedKey> {
  await assertScopesExist(input.scopes);
  const now = clock();
  const expiresAt =
    input.expires_at ??
    (input.expires_in_days
      ? new Date(now.getTime() + input.expires_in_days * DAY_MS).toISOString()
      : undefined);
  const secret = newSecret();
  const quota = newQuota(input, now);
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
      scopes: [...input.scopes],
      ...(input.rate_limit !== undefined ? { rate_limit: input.rate_limit } : {}),
      ...(input.rate_limit !== undefined && input.rate_limit_window_seconds !== undefined
        ? { rate_limit_window_seconds: input.rate_limit_window_seconds }
        : {}),
      ...(quota ? { quota } : {}),
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
  const [metadata, live] = await Promise.all([
    withMetadata ? metadataOf(item) : undefined,
    liveState(item.id),
  ]);
  return toPublic(item, clock(), metadata, live);
}

export interface KeyListing {
  readonly items: PublicApiKey[];
  /** Opaque; give it back as `next_token` for the next page, null on the last one. */
  readonly next_token: string | null;
}

/** One page of keys, newest first; `nextToken` from the previous page (a foreign one is a 400). */
export async function listKeys(
  filter: ListFilter,
  limit: number,
  nextToken: string | undefined,
  clock: Clock = systemClock,
): Promise<KeyListing> {
  const now = clock();
  const page = await queryKeys(filter, limit, now, decodeNextToken(nextToken));
  const live = await liveStates(page.items);
  return {
    items: page.items.map((i, n) => toPublic(i, now, undefined, live[n])),
    next_token: encodeNextToken(page.lastKey),
  };
}

export async function changeKey(
  id: string,
  patch: UpdateKeyInput,
  actor: Actor,
  clock: Clock = systemClock,
): Promise<PublicApiKey> {
  const item = await mustGet(id);
  const now = clock();
  if (item.status === 'revoked') {
    throw new ConflictError(
      'This key is revoked; a revoked key cannot be changed or restored (policy built_in:revoked_keys_final).',
    );
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
    await assertScopesExist(patch.scopes);
    set.scopes = [...patch.scopes];
  }
  setOrRemove('rate_limit', patch.rate_limit);
  const rateLimitAfter = patch.rate_limit === undefined ? item.rate_limit : (patch.rate_limit ?? undefined);
  if (patch.rate_limit_window_seconds != null && rateLimitAfter === undefined) {
    throw new ValidationError('rate_limit_window_seconds needs rate_limit', [
      { field: 'rate_limit_window_seconds', message: 'needs rate_limit (the limit this window is for)' },
    ]);
  }
  // The window belongs to the limit: removing the limit removes it.
  setOrRemove(
    'rate_limit_window_seconds',
    patch.rate_limit === null ? null : patch.rate_limit_window_seconds,
  );
  setOrRemove('quota', changedQuota(item.quota, patch, now));
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
  const [metadata, live] = await Promise.all([metadataOf(updated), liveState(updated.id)]);
  return toPublic(updated, now, metadata, live);
}

export interface RotatedKey {
  readonly key: string;
  readonly record: PublicApiKey;
  readonly previous_key_expires_at: string | null;
  /** The key's version after this rotation. */
  readonly version: number;
}

/** Until when the key's previous secret still works, if it still does at `now`. */
function graceOpenUntil(item: ApiKeyItem, now: Date): string | undefined {
  const until = item.previous_secret_hash ? item.previous_secret_expires_at : undefined;
  return until !== undefined && Date.parse(until) > now.getTime() ? until : undefined;
}

/**
 * New secret, same id (docs/key-changes.md). The replaced secret stays valid for
 * `grace_period_seconds` (0: never again).
 *
 * A rotation never cuts a grace period it did not promise to cut: while the previous secret's grace
 * is open it is refused (`GracePeriodOpenError`, 409 `grace_period_open`) unless
 * `end_previous_grace` says to end it now. The write is conditional on the version read (and on
 * that grace being closed), so of concurrent rotations exactly one wins and the others get 409;
 * every token a rotation returns therefore works until the next rotation the caller chose to allow.
 *
 * A bare number is the grace period alone. `secret` is a pre-generated secret (`newSecret()`) for
 * callers that must place the token somewhere before the key accepts it (scheduled rotation stages
 * it in the destination first); without it a fresh one is generated here.
 */
export async function rotateKey(
  id: string,
  rotation: RotateKeyInput | number,
  actor: Actor,
  clock: Clock = systemClock,
  expectedVersion?: number,
  secret: string = newSecret(),
): Promise<RotatedKey> {
  const { item, ...rotated } = await rotate(id, rotation, actor, clock, expectedVersion, secret);
  return { ...rotated, record: toPublic(item, clock()) };
}

/** `rotateKey` for the management API: the record also shows the key's live use. */
export async function rotateKeyWithUse(
  id: string,
  rotation: RotateKeyInput,
  actor: Actor,
  clock: Clock = systemClock,
): Promise<RotatedKey> {
  const { item, ...rotated } = await rotate(id, rotation, actor, clock);
  return { ...rotated, record: await withUse(item, clock()) };
}

async function rotate(
  id: string,
  rotation: RotateKeyInput | number,
  actor: Actor,
  clock: Clock,
  expectedVersion?: number,
  secret: string = newSecret(),
): Promise<Omit<RotatedKey, 'record'> & { readonly item: ApiKeyItem }> {
  if (!SECRET_PATTERN.test(secret))
    throw new Error('rotateKey: a pre-generated secret must come from newSecret()');
  const { grace_period_seconds: graceSeconds, end_previous_grace: endPreviousGrace = false } =
    typeof rotation === 'number' ? { grace_period_seconds: rotation } : rotation;
  const item = await mustGet(id);
  const now = clock();
  if (item.status === 'revoked')
    throw new ConflictError(
      'This key is revoked; a revoked key cannot be rotated (policy built_in:revoked_keys_final).',
    );
  if (expectedVersion !== undefined && item.version !== expectedVersion) {
    throw new ConflictError('The key was changed by another request.');
  }
  const openUntil = graceOpenUntil(item, now);
  if (openUntil && !endPreviousGrace) throw graceOpen(openUntil);
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
      // The version already pins the state read; the grace condition says the same in the write.
      expression: endPreviousGrace
        ? '#st <> :revoked'
        : '#st <> :revoked AND (attribute_not_exists(#pexp) OR #pexp <= :now)',
      names: { '#st': 'status', ...(endPreviousGrace ? {} : { '#pexp': 'previous_secret_expires_at' }) },
      values: { ':revoked': 'revoked', ...(endPreviousGrace ? {} : { ':now': now.toISOString() }) },
    },
  });
  return {
    key: formatToken(item.environment, item.id, secret),
    item: updated,
    previous_key_expires_at: previousExpiresAt,
    version: updated.version,
  };
}

function graceOpen(until: string): GracePeriodOpenError {
  return new GracePeriodOpenError(
    `The previous secret of this key stays valid until ${until} (its grace period); rotating now would end ` +
      'that at once. Rotate again after that time, or send "end_previous_grace": true to end it now.',
    [{ field: 'end_previous_grace', message: `the previous secret's grace period is open until ${until}` }],
  );
}

/**
 * Permanent, and always wins (docs/key-changes.md): the write is conditional only on the key
 * existing and not being revoked yet, never on the version read, so no concurrent rotation or
 * PATCH can make it fail. It removes the previous secret and the rotation policy, so once it has
 * answered no token of the key works and nothing rotates it again. Revoking a revoked key changes
 * nothing and answers the stored record.
 */
export async function revokeKey(id: string, actor: Actor, clock: Clock = systemClock): Promise<PublicApiKey> {
  if (!isKeyId(id)) throw new NotFoundError(`No API key with id ${JSON.stringify(id)}.`);
  const now = clock();
  try {
    const updated = await updateKey(
      id,
      'any',
      {
        status: 'revoked',
        revoked_at: now.toISOString(),
        revoked_by: actor.principal,
        updated_at: now.toISOString(),
        ...stamp('revoked', actor, now),
      },
      // A revoked key keeps no secret that could ever match again, and is never rotated again.
      [
        'previous_secret_hash',
        'previous_secret_expires_at',
        'rotation',
        'rotation_due_at',
        'rotation_due_day',
      ],
      {
        condition: {
          expression: '#st <> :revoked',
          names: { '#st': 'status' },
          values: { ':revoked': 'revoked' },
        },
      },
    );
    return withUse(updated, now);
  } catch (error) {
    if (!(error instanceof ConflictError)) throw error;
  }
  // The condition failed: the key does not exist (404), or is revoked already, for good.
  const item = await mustGet(id);
  if (item.status !== 'revoked')
    throw new Error('revokeKey: the condition failed on a key that is not revoked');
  return withUse(item, now);
}
