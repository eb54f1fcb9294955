/**
 * The Latchkey Lambda authorizer (REQUEST type). A token that fails the format/checksum test is
 * refused without a read; otherwise one GetItem by id, then the pure decision in
 * `functions/domain/authorization.ts`. Any failure to read fails closed (401 via a thrown error).
 */
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent, Context } from 'aws-lambda';
import { env } from '../../lib/declaration';
import type { ApiKeyItem } from '../domain/api-key';
import { type Decision, decide, grantedResources } from '../domain/authorization';
import { type ParsedToken, parseToken } from '../domain/token';
import { getKey } from '../repositories/keys-repository';
import { recordDenial, recordUse } from '../services/access-audit';
import { apiEnvironment } from '../shared/config';
import { headerOf } from '../shared/headers';
import { logger } from '../shared/logger';

function routeScopes(): Record<string, string> {
  const raw = process.env[env.routeScopes];
  if (!raw) return {};
  return JSON.parse(raw) as Record<string, string>;
}
// Parsed once per execution environment; the map is fixed at deploy time.
const ROUTE_SCOPES = routeScopes();

/**
 * `Authorization: Bearer <token>`, or `X-API-Key: <token>` when there is no Authorization header.
 * An Authorization header always wins, and must be Bearer: with the authorizer cache on, it is the
 * cache key, so a token taken from any other header could be served from someone else's entry.
 */
export function presentedToken(event: APIGatewayRequestAuthorizerEvent): string | undefined {
  const auth = headerOf(event.headers, 'authorization');
  if (auth !== undefined) return /^Bearer\s+(\S+)\s*$/i.exec(auth)?.[1];
  return headerOf(event.headers, 'x-api-key')?.trim() || undefined;
}

function unauthorized(): never {
  // The exact message API Gateway turns into a 401.
  throw new Error('Unauthorized');
}

function policy(
  principalId: string,
  effect: 'Allow' | 'Deny',
  resources: string[],
  context?: Record<string, string>,
): APIGatewayAuthorizerResult {
  return {
    principalId,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: resources }],
    },
    ...(context ? { context } : {}),
  };
}

export async function authorize(
  event: APIGatewayRequestAuthorizerEvent,
  now = new Date(),
): Promise<{
  decision: Decision | { effect: 'unauthorized'; reason: 'missing_token' | 'malformed_token' };
  result?: APIGatewayAuthorizerResult;
  /** What the audit of a refusal names: the parsed token, and the key when one was found. */
  token?: ParsedToken;
  key?: ApiKeyItem | undefined;
}> {
  const raw = presentedToken(event);
  if (!raw) return { decision: { effect: 'unauthorized', reason: 'missing_token' } };
  const token = parseToken(raw);
  if (!token) return { decision: { effect: 'unauthorized', reason: 'malformed_token' } };
  const key = await getKey(token.id);
  const decision = decide(token, key, {
    routeKey: `${event.httpMethod} ${event.resource}`,
    sourceIp: event.requestContext?.identity?.sourceIp,
    now,
    apiEnvironment: apiEnvironment(),
    routeScopes: ROUTE_SCOPES,
  });
  if (decision.effect === 'unauthorized') return { decision, token, key };
  if (decision.effect === 'deny') {
    return { decision, token, key, result: policy(decision.key.id, 'Deny', [event.methodArn]) };
  }
  const k = decision.key;
  return {
    decision,
    result: policy(k.id, 'Allow', grantedResources(event.methodArn, k.scopes, ROUTE_SCOPES), {
      keyId: k.id,
      organizationId: k.organization_id,
      workspaceId: k.workspace_id ?? '',
      environment: k.environment,
      keyType: k.key_type,
      scopes: k.scopes.join(','),
    }),
  };
}

export const handler = async (
  event: APIGatewayRequestAuthorizerEvent,
  context?: Context,
): Promise<APIGatewayAuthorizerResult> => {
  if (context) logger.addContext(context);
  const now = new Date();
  let outcome: Awaited<ReturnType<typeof authorize>>;
  try {
    outcome = await authorize(event, now);
  } catch (error) {
    // Fail closed: a store we cannot read allows nothing.
    logger.error('Authorizer could not decide', { error_name: (error as Error).name });
    await recordDenial(event, { status: 401, reason: 'store_unavailable' }, now);
    return unauthorized();
  }
  const { decision, result } = outcome;
  if (decision.effect !== 'allow') {
    logger.info('Request refused', {
      effect: decision.effect,
      reason: decision.reason,
      ...('key' in decision ? { key_prefix: decision.key.key_prefix } : {}),
    });
    // Every refusal is audited (never throws); an allowed request only bumps an in-memory count.
    const status = decision.effect === 'deny' ? 403 : 401;
    await recordDenial(
      event,
      { status, reason: decision.reason, token: outcome.token, key: outcome.key },
      now,
    );
  } else {
    await recordUse(decision.key, now);
  }
  if (!result) return unauthorized();
  return result;
};
