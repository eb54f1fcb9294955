/**
 * Decides one request to a protected API (docs/authorizer.md): a token that fails the
 * format/checksum test is refused without a read; otherwise one GetItem by id and the pure decision
 * of `functions/domain/authorization.ts`. A failure to read throws: callers fail closed.
 *
 * Independent of the front door: the API Gateway authorizer handler turns the outcome into a policy.
 */
import type { ApiKeyItem } from '../domain/api-key';
import { type Decision, decide } from '../domain/authorization';
import { type ParsedToken, parseToken } from '../domain/token';
import { getKey } from '../repositories/keys-repository';
import { setting } from '../shared/config';

export interface AccessRequest {
  /** The token as presented, if any. */
  readonly token: string | undefined;
  /** `"<METHOD> <resource path>"`, e.g. `GET /demo/agents/{id}`. */
  readonly routeKey: string;
  readonly sourceIp: string | undefined;
}

export interface AccessOutcome {
  readonly decision: Decision;
  /** What the audit of a refusal names: the parsed token, and the key when one was found. */
  readonly token?: ParsedToken;
  readonly key?: ApiKeyItem;
}

export async function checkAccess(request: AccessRequest, now: Date): Promise<AccessOutcome> {
  if (!request.token) return { decision: { effect: 'unauthorized', reason: 'missing_token' } };
  const token = parseToken(request.token);
  if (!token) return { decision: { effect: 'unauthorized', reason: 'malformed_token' } };
  const key = await getKey(token.id);
  const decision = decide(token, key, {
    routeKey: request.routeKey,
    sourceIp: request.sourceIp,
    now,
    apiEnvironment: setting('apiEnvironment') ?? undefined,
    routeScopes: setting('routeScopes'),
  });
  return key ? { decision, token, key } : { decision, token };
}
