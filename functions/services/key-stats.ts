/**
 * Keeps the registry's aggregates current from the keys table's stream (docs/analytics.md). Each
 * record's new image says what the key counts towards now; the stored contribution says what was
 * counted; the difference is applied in one transaction conditional on the stored version, so a
 * retried or replayed record changes nothing, and a record that was lost (dead-lettered) is made up
 * for by the key's next change.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import type { ApiKeyItem } from '../domain/api-key';
import { PoisonRecordError } from '../domain/audit';
import { contributionOf, keyStatsChange } from '../domain/key-stats';
import { applyStatsChange, getContribution, StatsRaceError } from '../repositories/stats-repository';

/** Attempts when another writer (a parallel shard's batch) moves the same aggregate items first. */
const ATTEMPTS = 6;

export type StatsOutcome = 'applied' | 'unchanged' | 'duplicate' | 'skipped';

function image(raw: unknown): Record<string, unknown> | undefined {
  if (!raw) return undefined;
  try {
    return unmarshall(raw as Record<string, AttributeValue>);
  } catch {
    // The unmarshaller's message may quote attribute values: never pass it on.
    throw new PoisonRecordError('stream record has an image that does not unmarshall');
  }
}

const isKey = (i: Record<string, unknown> | undefined): i is Record<string, unknown> & ApiKeyItem =>
  i?.kind === 'api_key' && typeof i.id === 'string' && typeof i.version === 'number';

/** The key item as it stands after `record`, and the version that state has. */
export function keyStateOf(
  record: DynamoDBRecord,
): { readonly id: string; readonly version: number; readonly item: ApiKeyItem | undefined } | undefined {
  const after = image(record.dynamodb?.NewImage);
  const before = image(record.dynamodb?.OldImage);
  if (isKey(after)) return { id: after.id, version: after.version, item: after };
  // Keys are never deleted; a removed item (by hand) counts for nothing from then on.
  if (isKey(before)) return { id: before.id, version: before.version + 1, item: undefined };
  return undefined;
}

/** Applies one stream record to the aggregates. Throws when it could not (the record is retried). */
export async function recordKeyStats(record: DynamoDBRecord): Promise<StatsOutcome> {
  const state = keyStateOf(record);
  if (!state) return 'skipped';
  return applyKeyState(state.id, state.version, state.item);
}

/** Counts `item` (at `version`; `undefined`: the key no longer exists) instead of what was counted. */
export async function applyKeyState(
  id: string,
  version: number,
  item: ApiKeyItem | undefined,
): Promise<StatsOutcome> {
  const after = item ? contributionOf(item) : undefined;
  for (let attempt = 1; ; attempt++) {
    const stored = await getContribution(id);
    if (stored.version >= version) return 'duplicate';
    const change = keyStatsChange(id, stored.contribution, after);
    // Nothing moves (a rename, a rotation): the stored version may lag; a later record still wins.
    if (!change.counters.length && !change.rows.length) return 'unchanged';
    try {
      await applyStatsChange(id, stored.version, { version, contribution: after }, change);
      return 'applied';
    } catch (error) {
      if (!(error instanceof StatsRaceError) || attempt >= ATTEMPTS) throw error;
      await new Promise((r) => setTimeout(r, Math.random() * 20 * 2 ** attempt));
    }
  }
}
