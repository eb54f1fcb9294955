/**
 * The authorizer's decision (docs/authorizer.md), as a pure function of the stored key and the request.
 * Checks run in the order docs/authorizer.md lists; the first failure decides. The reason goes to
 * the audit log, never to the caller.
 */
import type { ApiKeyItem } from './api-key';
import { secretMatches } from './hashing';
import { ipAllowed } from './ip-match';
import {
  type ApiDenyReason,
  DENY_REASONS,
  type DenyReason,
  type KeyDenyReason,
  UNAUTHORIZED_REASONS,
  type UnauthorizedReason,
} from './outcomes';
import { grants } from './scopes';
import type { Environment, ParsedToken } from './token';

/**
 * Every reason a decision can refuse for: a fixed set, so it is also the (bounded) `reason`
 * dimension of the authorizer's `Refused` metric (docs/operations.md).
 */
export type RefusalReason = DenyReason | UnauthorizedReason;
export const REFUSAL_REASONS: readonly RefusalReason[] = [...UNAUTHORIZED_REASONS, ...DENY_REASONS];

export type Decision =
  | { readonly effect: 'unauthorized'; readonly reason: UnauthorizedReason }
  | { readonly effect: 'deny'; readonly reason: KeyDenyReason; readonly key: ApiKeyItem }
  /** Refused for the protected API itself, before the key is looked at: no key to name. */
  | { readonly effect: 'deny'; readonly reason: ApiDenyReason; readonly key?: undefined }
  | {
      readonly effect: 'allow';
      readonly key: ApiKeyItem;
      readonly usedPreviousSecret: boolean;
      /** The scope the route needed (the overview counts each module's last use by it). */
      readonly scope: string;
    };

export interface RequestFacts {
  /** `"<METHOD> <resource path>"`, e.g. `GET /demo/agents/{id}`. */
  readonly routeKey: string;
  /**
   * A scope to check instead of the route's (`POST /v1/keys/verify` with a scope): the route map is
   * then not consulted.
   */
  readonly scope?: string;
  readonly sourceIp: string | undefined;
  readonly now: Date;
  /** The protected API's environment, when its stage has one. */
  readonly apiEnvironment: Environment | undefined;
  readonly routeScopes: Readonly<Record<string, string>>;
}

/** Which secret of the key the token carries: the current one, or the previous one inside its grace. */
function matchSecret(
  key: ApiKeyItem,
  token: ParsedToken,
  now: Date,
): 'current' | 'previous' | 'grace_expired' | 'none' {
  if (secretMatches(token.secret, key.secret_hash)) return 'current';
  if (key.previous_secret_hash && secretMatches(token.secret, key.previous_secret_hash)) {
    const until = key.previous_secret_expires_at ? Date.parse(key.previous_secret_expires_at) : 0;
    return now.getTime() < until ? 'previous' : 'grace_expired';
  }
  return 'none';
}

export function decide(token: ParsedToken, key: ApiKeyItem | undefined, req: RequestFacts): Decision {
  // The environment is part of the token, so a token re-labelled for another environment is unknown.
  if (!key || key.environment !== token.environment) return { effect: 'unauthorized', reason: 'unknown_key' };
  const secret = matchSecret(key, token, req.now);
  if (secret === 'none') return { effect: 'unauthorized', reason: 'wrong_secret' };
  if (secret === 'grace_expired') return { effect: 'unauthorized', reason: 'grace_expired' };
  const deny = (reason: KeyDenyReason): Decision => ({ effect: 'deny', reason, key });
  if (key.status === 'revoked') return deny('revoked');
  if (key.status !== 'active') return deny('disabled');
  if (key.expires_at && Date.parse(key.expires_at) <= req.now.getTime()) return deny('expired');
  if (req.apiEnvironment && key.environment !== req.apiEnvironment) return deny('environment_mismatch');
  if (key.ip_allowlist?.length && !(req.sourceIp && ipAllowed(req.sourceIp, key.ip_allowlist))) {
    return deny('ip_not_allowed');
  }
  const required = req.scope ?? req.routeScopes[req.routeKey];
  if (!required) return deny('route_unknown');
  if (!grants(key.scopes, required)) return deny('scope_missing');
  return { effect: 'allow', key, usedPreviousSecret: secret === 'previous', scope: required };
}

/** What the authorizer knows about the protected API a request is for (its registration). */
export interface ApiFacts {
  /** AWS accounts whose API Gateway APIs may use this registration. */
  readonly accounts: readonly string[];
}

/**
 * Whether the request may use this API registration at all: it must exist, and the request must
 * come from an account the registration admits (so one team cannot borrow another's registration
 * from a foreign account). Checked before the key, so a foreign account learns nothing about keys.
 */
export function apiRefusal(
  api: ApiFacts | undefined,
  accountId: string | undefined,
): ApiDenyReason | undefined {
  if (!api) return 'api_unknown';
  if (!accountId || !api.accounts.includes(accountId)) return 'account_not_allowed';
  return undefined;
}

/**
 * The method ARNs of every route on this API that the key's scopes grant (`{param}` segments become
 * `*`), not only the route requested. With the Latchkey constructs' identity sources the cache
 * key includes the route, so a cached policy only ever answers the route it was decided for; the
 * other entries matter only to custom identity sources that leave the route out.
 */
export function grantedResources(
  methodArn: string,
  scopes: readonly string[],
  routeScopes: Readonly<Record<string, string>>,
): string[] {
  const base = apiBaseArn(methodArn);
  const out: string[] = [];
  for (const [routeKey, scope] of Object.entries(routeScopes)) {
    if (!grants(scopes, scope)) continue;
    const [method, path] = routeKey.split(' ') as [string, string];
    // `{param}` and a greedy `{proxy+}` both become `*`, which in execute-api ARNs also spans `/`.
    out.push(`${base}/${method}/${path.replace(/^\//, '').replace(/\{[^/}]+\}/g, '*')}`);
  }
  return out;
}

/** `arn:aws:execute-api:<region>:<account>:<api id>/<stage>` from a method ARN. */
export function apiBaseArn(methodArn: string): string {
  // `arn:aws:execute-api:<region>:<account>:<api id>` / `<stage>` / `<METHOD>` / `<path...>`
  const [arnWithApiId = '', stage = ''] = methodArn.split('/');
  return `${arnWithApiId}/${stage}`;
}
