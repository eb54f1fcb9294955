/**
 * Decides one request to a protected API (docs/authorizer.md): a token that fails the
 * format/checksum test is refused without a read; otherwise the API registration the request names
 * (cached) and the key (one GetItem by id) are read together, and the pure rules of
 * `functions/domain/authorization.ts` decide. A failure to read throws: callers fail closed.
 *
 * Independent of the front door: the API Gateway authorizer (REST and HTTP APIs) and
 * `POST /v1/keys/verify` both call it, so they decide alike.
 */
import type { ApiKeyItem } from '../domain/api-key';
import { apiRefusal, type Decision, decide } from '../domain/authorization';
import { type ParsedToken, parseToken } from '../domain/token';
import { getKey } from '../repositories/keys-repository';
import { type ApiTarget, resolveApi } from './api-targets';

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

export interface AccessOutcome {
  readonly decision: Decision;
  /** What the audit of a refusal names: the parsed token, and the key when one was found. */
  readonly token?: ParsedToken;
  readonly key?: ApiKeyItem;
  /** The registration the request was decided against, when it exists. */
  readonly api?: ApiTarget;
}

export async function checkAccess(request: AccessRequest, now: Date): Promise<AccessOutcome> {
  if (!request.token) return { decision: { effect: 'unauthorized', reason: 'missing_token' } };
  const token = parseToken(request.token);
  if (!token) return { decision: { effect: 'unauthorized', reason: 'malformed_token' } };
  // Read together: the API check comes first in the decision, but need not wait for the key.
  const [api, key] = await Promise.all([resolveApi(request.api), getKey(token.id)]);
  const refused = apiRefusal(api, request.accountId);
  if (refused || !api) {
    return { decision: { effect: 'deny', reason: refused ?? 'api_unknown' }, token };
  }
  const decision = decide(token, key, {
    routeKey: request.routeKey,
    ...(request.scope !== undefined ? { scope: request.scope } : {}),
    sourceIp: request.sourceIp,
    now,
    apiEnvironment: api.environment ?? undefined,
    routeScopes: api.routes,
  });
  return { decision, token, ...(key ? { key } : {}), api };
}
