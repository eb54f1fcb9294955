/**
 * Decides one request to a protected API (docs/authorizer.md): a source IP cooling down is refused
 * before anything else; a token that fails the format/checksum test is refused without a read;
 * otherwise the API registration the request names (kept in memory, `services/api-targets.ts`) and
 * the key (one GetItem by id, or this instance's copy when `keyCacheSeconds` allows) are read
 * together, the pure rules of `functions/domain/authorization.ts` decide, and, for an allowed key
 * with limits, one conditional counter write per limit (`services/limits.ts`). A failure to read
 * throws: callers fail closed.
 *
 * Independent of the front door: the API Gateway authorizer (REST and HTTP APIs) and
 * `POST /v1/keys/verify` both call it, so they decide alike.
 */
import type { ApiKeyItem } from '../domain/api-key';
import { apiRefusal, type Decision, decide } from '../domain/authorization';
import { retryAfterSeconds } from '../domain/rate-limit';
import { COOL_DOWN_REASON } from '../domain/source-guard';
import { type ParsedToken, parseToken } from '../domain/token';
import { getKey } from '../repositories/keys-repository';
import { setting } from '../shared/config';
import { type ApiTarget, resolveApi } from './api-targets';
import { applyLimits, type LimitDenial, type LimitStatus } from './limits';
import { coolingDownUntil } from './source-guard';

export interface AccessRequest {
  /** The token as presented, if any. */
  readonly token: string | undefined;
  /** The registered API the request is for (`default`: Latchkey's own demo routes). */
  readonly api: string;
  /** The AWS account the request came through: the API's account, or the verifying caller's. */
  readonly accountId: string | undefined;
  /** `"<METHOD> <resource path>"`, e.g. `GET /demo/agents/{id}`. */
  readonly routeKey: string;
  /** A scope to check instead of the route's (verify only). */
  readonly scope?: string;
  readonly sourceIp: string | undefined;
}

/** Every request from a source IP that is cooling down: refused before any read. */
export interface CoolDownDenial {
  readonly effect: 'deny';
  readonly reason: typeof COOL_DOWN_REASON;
  readonly key?: undefined;
  readonly retryAfterSeconds: number;
}

export type AccessDecision = Decision | LimitDenial | CoolDownDenial;

export interface AccessOutcome {
  readonly decision: AccessDecision;
  /** What the audit of a refusal names: the parsed token, and the key when one was found. */
  readonly token?: ParsedToken;
  readonly key?: ApiKeyItem;
  /** For an allowed key with limits: where this request left them. */
  readonly limits?: LimitStatus;
  /** The registration the request was decided against, when it exists. */
  readonly api?: ApiTarget;
}

// Per execution environment, only when `keyCacheSeconds` > 0: key items by id, oldest first.
const MAX_CACHED_KEYS = 10_000;
const cachedKeys = new Map<string, { readonly item: ApiKeyItem; readonly until: number }>();

/** The key item, from this instance's copy when it is younger than `keyCacheSeconds`. */
async function readKey(id: string, now: Date): Promise<ApiKeyItem | undefined> {
  const seconds = setting('keyCacheSeconds');
  if (seconds <= 0) return getKey(id);
  const hit = cachedKeys.get(id);
  if (hit && hit.until > now.getTime()) return hit.item;
  const item = await getKey(id);
  cachedKeys.delete(id);
  // Unknown ids are not kept: a key created a moment ago must work at once.
  if (item) {
    if (cachedKeys.size >= MAX_CACHED_KEYS) {
      const oldest = cachedKeys.keys().next().value;
      if (oldest !== undefined) cachedKeys.delete(oldest);
    }
    cachedKeys.set(id, { item, until: now.getTime() + seconds * 1000 });
  }
  return item;
}

export async function checkAccess(request: AccessRequest, now: Date): Promise<AccessOutcome> {
  const coolingUntil = coolingDownUntil(request.sourceIp, now);
  if (coolingUntil) {
    return {
      decision: {
        effect: 'deny',
        reason: COOL_DOWN_REASON,
        retryAfterSeconds: retryAfterSeconds(coolingUntil, now),
      },
    };
  }
  if (!request.token) return { decision: { effect: 'unauthorized', reason: 'missing_token' } };
  const token = parseToken(request.token);
  if (!token) return { decision: { effect: 'unauthorized', reason: 'malformed_token' } };
  // Read together: the API check comes first in the decision, but need not wait for the key.
  const [api, key] = await Promise.all([resolveApi(request.api), readKey(token.id, now)]);
  const refused = apiRefusal(api, request.accountId);
  if (refused || !api) return { decision: { effect: 'deny', reason: refused ?? 'api_unknown' }, token };
  const decision = decide(token, key, {
    routeKey: request.routeKey,
    ...(request.scope !== undefined ? { scope: request.scope } : {}),
    sourceIp: request.sourceIp,
    now,
    apiEnvironment: api.environment ?? undefined,
    routeScopes: api.routes,
  });
  if (!key) return { decision, token, api };
  if (decision.effect !== 'allow') return { decision, token, key, api };
  const limits = await applyLimits(decision.key, now);
  if (limits.denial) return { decision: limits.denial, token, key, api };
  return { decision, token, key, limits: limits.status, api };
}
