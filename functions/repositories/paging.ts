/**
 * Newest-first pages of a DynamoDB query for the list routes: filled up to `limit` even when a
 * filter drops items, resumable from the last returned item, and only from a key of the same query.
 */
import { QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { ValidationError } from '../domain/errors';
import { isWellFormed } from '../domain/input';
import { dynamodb } from '../shared/clients';

export interface Page<T> {
  readonly items: T[];
  /** The key of the last returned item, when more may follow. */
  readonly lastKey?: Record<string, unknown>;
}

/** Real keys are far shorter (created_sort, audit sk ≈ 100 bytes); DynamoDB's limit is 1 KB for a sort key. */
const MAX_KEY_VALUE_BYTES = 512;

function isKeyValue(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length > 0 &&
    isWellFormed(value) &&
    Buffer.byteLength(value, 'utf8') <= MAX_KEY_VALUE_BYTES
  );
}

/**
 * The one check of a decoded `next_token` before it reaches DynamoDB: it must be a key of this
 * very query, exactly its key attributes, each a non-empty well-formed string of sane length, in
 * the same partition, inside the sort-key range. DynamoDB would answer anything else with an error
 * (a 500), and a token must never widen what a query can read.
 */
export function checkStartKey(
  startKey: Record<string, unknown> | undefined,
  partition: Readonly<Record<string, string>>,
  keyAttrs: readonly string[],
  range: { from?: string | undefined; to?: string | undefined } = {},
): Record<string, unknown> | undefined {
  if (!startKey) return undefined;
  const names = Object.keys(startKey);
  const sk = startKey.sk;
  const ok =
    names.length === keyAttrs.length &&
    keyAttrs.every((a) => Object.hasOwn(startKey, a) && isKeyValue(startKey[a])) &&
    Object.entries(partition).every(([a, v]) => startKey[a] === v) &&
    (!range.from || (typeof sk === 'string' && sk >= range.from)) &&
    (!range.to || (typeof sk === 'string' && sk <= range.to));
  if (!ok) {
    throw new ValidationError('Invalid next_token', [
      { field: 'next_token', message: 'does not belong to this listing; start again without it' },
    ]);
  }
  return startKey;
}

/**
 * One page of `input` (newest first, or in sort-key order when `ascending`), at most `limit` items;
 * `keyAttrs` name the key of an item.
 */
export async function queryPage<T>(
  input: QueryCommandInput,
  keyAttrs: readonly string[],
  limit: number,
  startKey: Record<string, unknown> | undefined,
  ascending = false,
): Promise<Page<T>> {
  const items: T[] = [];
  let exclusiveStartKey = startKey;
  // A filter may drop items: ask for a few more each round, and stop after a bounded number of rounds.
  const slack = input.FilterExpression === undefined ? 0 : 25;
  for (let round = 0; round < 20; round++) {
    const out = await dynamodb.send(
      new QueryCommand({
        ...input,
        ScanIndexForward: ascending,
        Limit: limit - items.length + slack,
        ...(exclusiveStartKey ? { ExclusiveStartKey: exclusiveStartKey } : {}),
      }),
    );
    const page = (out.Items ?? []) as Record<string, unknown>[];
    for (const [i, item] of page.entries()) {
      items.push(item as T);
      if (items.length === limit) {
        // More may follow unless this was the query's very last item.
        if (!out.LastEvaluatedKey && i === page.length - 1) return { items };
        return { items, lastKey: Object.fromEntries(keyAttrs.map((a) => [a, item[a]])) };
      }
    }
    exclusiveStartKey = out.LastEvaluatedKey;
    if (!exclusiveStartKey) return { items };
  }
  return exclusiveStartKey ? { items, lastKey: exclusiveStartKey } : { items };
}
