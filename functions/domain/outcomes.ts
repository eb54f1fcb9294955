/**
 * The outcome codes of a key check, one table for every front door (docs/authorizer.md): the API
 * Gateway authorizer (REST and HTTP APIs), `POST /v1/keys/verify`, and the `latchkey/middleware`
 * that services behind any other front door use. Each code has exactly one HTTP status.
 *
 * Pure data with no import, so the published client and middleware can ship it alone.
 */

/** 401: the caller is not identified (and learns nothing about why). */
export const UNAUTHORIZED_REASONS = [
  'missing_token',
  'malformed_token',
  'unknown_key',
  'wrong_secret',
  'grace_expired',
] as const;
export type UnauthorizedReason = (typeof UNAUTHORIZED_REASONS)[number];

/** 403 because of the protected API, decided before the key is looked at (docs/authorizer.md). */
export const API_DENY_REASONS = ['api_unknown', 'account_not_allowed'] as const;
export type ApiDenyReason = (typeof API_DENY_REASONS)[number];

/** 403: the key is known but may not make this request. */
export const KEY_DENY_REASONS = [
  'disabled',
  'revoked',
  'expired',
  'environment_mismatch',
  'ip_not_allowed',
  'scope_missing',
  'route_unknown',
] as const;
export type KeyDenyReason = (typeof KEY_DENY_REASONS)[number];

export const DENY_REASONS = [...API_DENY_REASONS, ...KEY_DENY_REASONS] as const;
export type DenyReason = (typeof DENY_REASONS)[number];

/**
 * 403 where waiting helps (docs/authorizer.md#rate-limits-and-quotas): the key's rate limit or
 * quota, or a source IP cooling down after many invalid tokens. The only reasons a refused caller
 * is told, with how long to wait. (The same strings as `LIMIT_REASONS` and `COOL_DOWN_REASON`,
 * repeated here so the published middleware needs nothing else; a unit test holds them equal.)
 */
export const TOLD_REASONS = ['rate_limited', 'quota_exhausted', 'ip_cooling_down'] as const;
export type ToldReason = (typeof TOLD_REASONS)[number];

/** The key store (or the API registrations) could not be read: refused, fail closed (401). */
export const STORE_UNAVAILABLE = 'store_unavailable';

/** Every code a check can end with. */
export type OutcomeCode = 'allowed' | UnauthorizedReason | DenyReason | ToldReason | typeof STORE_UNAVAILABLE;

/**
 * A decision as `POST /v1/keys/verify` answers it (docs/authorizer.md): the service builds it, the
 * published client and middleware read it.
 */
export interface VerifyResult {
  readonly valid: boolean;
  readonly code: OutcomeCode;
  /** The key the token names, whenever the token parsed. */
  readonly key_id: string | null;
  // The rest only when valid.
  readonly scopes: string[] | null;
  readonly organization_id: string | null;
  readonly workspace_id: string | null;
  readonly environment: string | null;
  /** For `rate_limited`, `quota_exhausted`, `ip_cooling_down`: whole seconds until a retry can succeed. */
  readonly retry_after: number | null;
}

export function isTold(code: string): code is ToldReason {
  return (TOLD_REASONS as readonly string[]).includes(code);
}

/** The HTTP status each code answers with, wherever the check runs. */
export function outcomeStatus(code: OutcomeCode): 200 | 401 | 403 {
  if (code === 'allowed') return 200;
  return (DENY_REASONS as readonly string[]).includes(code) || isTold(code) ? 403 : 401;
}

/** Every code, allowed first: the rows of docs/authorizer.md's table. */
export const OUTCOME_CODES: readonly OutcomeCode[] = [
  'allowed',
  ...UNAUTHORIZED_REASONS,
  STORE_UNAVAILABLE,
  ...DENY_REASONS,
  ...TOLD_REASONS,
];
