/**
 * Opaque `next_token`s: base64url JSON of a DynamoDB key. Only services encode and decode them (the
 * repositories check a decoded key against their query, `checkStartKey`). A token that does not
 * decode is a 400.
 */
import { ValidationError } from '../domain/errors';

export function encodeNextToken(key: Record<string, unknown> | undefined): string | null {
  return key ? Buffer.from(JSON.stringify(key), 'utf8').toString('base64url') : null;
}

export function decodeNextToken(token: string | undefined): Record<string, string> | undefined {
  if (token === undefined) return undefined;
  const invalid = new ValidationError('Invalid next_token', [
    { field: 'next_token', message: 'is not a token this API issued' },
  ]);
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw invalid;
  }
  // Only the shape of a key here; whether it is a key of the listing asked for (attributes,
  // partition, range, lengths) is `checkStartKey`'s one check, in the repository that knows the query.
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid;
  const entries = Object.entries(value);
  if (entries.length === 0 || entries.some(([, v]) => typeof v !== 'string')) throw invalid;
  return value as Record<string, string>;
}
