/**
 * The Latchkey Lambda authorizer (REQUEST type) for API Gateway REST APIs: takes the token from the
 * request, asks `services/authorization.ts` for a decision, audits refusals and counts use, and
 * answers with an IAM policy over exactly the routes the key's scopes grant (docs/authorizer.md).
 * Any failure to decide fails closed (401 via a thrown error). Each invocation emits its outcome and
 * latency as one EMF log line (docs/operations.md) and is traced in X-Ray.
 */
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent, Context } from 'aws-lambda';
import { DENY_CONTEXT } from '../../lib/gateway-responses';
import { grantedResources } from '../domain/authorization';
import { isJunk } from '../domain/source-guard';
import { recordDenial, recordUse } from '../services/access-audit';
import { type AccessDecision, type AccessOutcome, checkAccess } from '../services/authorization';
import { setting } from '../shared/config';
import { headerOf } from '../shared/headers';
import { logger } from '../shared/logger';
import { recordAuthorization } from '../shared/metrics';
import { traced } from '../shared/tracer';

/**
 * `Authorization: Bearer <token>`, or `X-API-Key: <token>` when there is no Authorization header.
 * An Authorization header always wins, and must be Bearer: with the authorizer cache on, it is the
 * cache key, so a token taken from any other header could be served from someone else's entry.
 */
function presentedToken(event: APIGatewayRequestAuthorizerEvent): string | undefined {
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

/** Refusals whose reason the caller may learn: waiting is what helps, and it needs to know how long. */
const TOLD_REASONS: ReadonlySet<string> = new Set(['rate_limited', 'quota_exhausted', 'ip_cooling_down']);

/**
 * The context of a Deny, which the ACCESS_DENIED gateway response maps into its body and a
 * `Retry-After` header (`lib/gateway-responses.ts`): empty for every refusal whose reason stays private.
 */
function denyContext(decision: AccessDecision & { effect: 'deny' }): Record<string, string> {
  const told = TOLD_REASONS.has(decision.reason);
  const retry = told && 'retryAfterSeconds' in decision ? decision.retryAfterSeconds : undefined;
  return {
    [DENY_CONTEXT.reason]: told ? decision.reason : '',
    [DENY_CONTEXT.retryAfter]: retry === undefined ? '' : String(retry),
  };
}

/** The decision for `event`, and the policy API Gateway gets (none for a 401). */
export async function authorize(
  event: APIGatewayRequestAuthorizerEvent,
  now = new Date(),
): Promise<AccessOutcome & { result?: APIGatewayAuthorizerResult }> {
  const outcome = await checkAccess(
    {
      token: presentedToken(event),
      routeKey: `${event.httpMethod} ${event.resource}`,
      sourceIp: event.requestContext?.identity?.sourceIp,
    },
    now,
  );
  const { decision } = outcome;
  if (decision.effect === 'unauthorized') return outcome;
  if (decision.effect === 'deny') {
    // A cooled-down source IP names no key.
    const principal = decision.key?.id ?? 'anonymous';
    return { ...outcome, result: policy(principal, 'Deny', [event.methodArn], denyContext(decision)) };
  }
  const k = decision.key;
  const routeScopes = setting('routeScopes');
  const { rate, quota } = outcome.limits ?? {};
  return {
    ...outcome,
    result: policy(k.id, 'Allow', grantedResources(event.methodArn, k.scopes, routeScopes), {
      keyId: k.id,
      organizationId: k.organization_id,
      workspaceId: k.workspace_id ?? '',
      environment: k.environment,
      keyType: k.key_type,
      scopes: k.scopes.join(','),
      // Where this request left the key's limits, for a backend that shows them to its caller.
      ...(rate
        ? {
            rateLimit: String(rate.limit),
            rateLimitRemaining: String(rate.remaining),
            rateLimitReset: String(Math.ceil(rate.resetAt.getTime() / 1000)),
          }
        : {}),
      ...(quota ? { quotaRemaining: String(quota.remaining) } : {}),
    }),
  };
}

async function handle(
  event: APIGatewayRequestAuthorizerEvent,
  context?: Context,
): Promise<APIGatewayAuthorizerResult> {
  if (context) logger.addContext(context);
  const started = performance.now();
  const now = new Date();
  let outcome: Awaited<ReturnType<typeof authorize>>;
  try {
    outcome = await authorize(event, now);
  } catch (error) {
    // Fail closed: a store we cannot read allows nothing.
    logger.error('Authorizer could not decide', { error_name: (error as Error).name });
    await recordDenial(event, { status: 401, reason: 'store_unavailable' }, now);
    recordAuthorization({ result: 'store_error' }, performance.now() - started);
    return unauthorized();
  }
  const { decision, result } = outcome;
  if (decision.effect !== 'allow') {
    // Junk is logged once per source IP and minute, with its count (services/access-audit.ts).
    if (!isJunk(decision.reason)) {
      logger.info('Request refused', {
        effect: decision.effect,
        reason: decision.reason,
        ...('key' in decision && decision.key ? { key_prefix: decision.key.key_prefix } : {}),
      });
    }
    // Every refusal is recorded (never throws): junk in memory, a real key's as its own entry.
    const status = decision.effect === 'deny' ? 403 : 401;
    await recordDenial(
      event,
      { status, reason: decision.reason, token: outcome.token, key: outcome.key },
      now,
    );
    recordAuthorization({ result: 'refused', reason: decision.reason }, performance.now() - started);
  } else {
    await recordUse(decision.key, event.requestContext?.identity?.sourceIp || undefined, now);
    recordAuthorization({ result: 'allowed' }, performance.now() - started);
  }
  if (!result) return unauthorized();
  return result;
}

export const handler = traced(handle);
