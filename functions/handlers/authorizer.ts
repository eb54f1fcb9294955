/**
 * The shared Latchkey Lambda authorizer (docs/authorizer.md), for API Gateway REST APIs (`REQUEST`
 * authorizer, answered with an IAM policy) and HTTP APIs (payload 2.0, answered with a simple
 * `{ isAuthorized, context }`), with the same decision for both: it reads the token and the
 * registered API the request names (stage variables set by the Latchkey constructs), asks
 * `services/authorization.ts` for a decision, audits refusals and counts use. Any failure to decide
 * fails closed (401 via a thrown error). Each decision that read the store emits its outcome and
 * latency as one EMF log line; refusals that read nothing are counted and written once a minute
 * (docs/operations.md). No Tracer: see `handler` below.
 */
import type {
  APIGatewayAuthorizerResult,
  APIGatewayRequestAuthorizerEvent,
  APIGatewayRequestAuthorizerEventV2,
  APIGatewaySimpleAuthorizerWithContextResult,
  Context,
} from 'aws-lambda';
import { STAGE_VARIABLES, TOKEN_HEADERS, type TokenHeader } from '../../lib/consumer-contract';
import { DENY_CONTEXT } from '../../lib/gateway-responses';
import { DEFAULT_API } from '../domain/api-registration';
import { grantedResources } from '../domain/authorization';
import { isTold } from '../domain/outcomes';
import { isJunk } from '../domain/source-guard';
import { type RequestOrigin, recordDenial, recordUse } from '../services/access-audit';
import { countAllowed, countRefused } from '../services/activity';
import { type AccessDecision, type AccessOutcome, checkAccess } from '../services/authorization';
import { recordAuthorization } from '../shared/authorizer-metrics';
import { headerOf } from '../shared/headers';
import { logger } from '../shared/light-logger';

type AuthorizerEvent = APIGatewayRequestAuthorizerEvent | APIGatewayRequestAuthorizerEventV2;
type KeyContext = Record<string, string>;
type HttpApiResult = APIGatewaySimpleAuthorizerWithContextResult<KeyContext>;

function isHttpApi(event: AuthorizerEvent): event is APIGatewayRequestAuthorizerEventV2 {
  return (event as APIGatewayRequestAuthorizerEventV2).version === '2.0';
}

const bearer = (value: string) => /^Bearer\s+(\S+)\s*$/i.exec(value)?.[1];

/**
 * The token, from the one header the stage names (the one its authorizer cache is keyed on, so a
 * token from any other header can never be answered from someone else's cache entry). Without that
 * stage variable (Latchkey's own demo stage): `Authorization: Bearer`, or `X-API-Key` when there is
 * no Authorization header; an Authorization header always wins and must be Bearer.
 */
function presentedToken(
  headers: Readonly<Record<string, string | undefined>> | null | undefined,
  tokenHeader: string | undefined,
): string | undefined {
  if (tokenHeader !== undefined && !(TOKEN_HEADERS as readonly string[]).includes(tokenHeader)) {
    return undefined; // a misconfigured stage admits nobody
  }
  const only = tokenHeader as TokenHeader | undefined;
  const auth = only === 'x-api-key' ? undefined : headerOf(headers, 'authorization');
  if (auth !== undefined) return bearer(auth);
  if (only === 'authorization') return undefined;
  return headerOf(headers, 'x-api-key')?.trim() || undefined;
}

/** What the decision and the audit need, from either event shape. */
interface RequestView extends RequestOrigin {
  readonly token: string | undefined;
  readonly accountId: string | undefined;
}

function viewOf(event: AuthorizerEvent): RequestView {
  const stage = event.stageVariables ?? {};
  const api = stage[STAGE_VARIABLES.api] || DEFAULT_API;
  const token = presentedToken(event.headers, stage[STAGE_VARIABLES.tokenHeader]);
  if (isHttpApi(event)) {
    const http = event.requestContext?.http;
    return {
      token,
      api,
      accountId: event.requestContext?.accountId,
      route: event.routeKey,
      sourceIp: http?.sourceIp,
      userAgent: headerOf(event.headers, 'user-agent') ?? http?.userAgent,
      requestId: event.requestContext?.requestId,
    };
  }
  const identity = event.requestContext?.identity;
  return {
    token,
    api,
    accountId: event.requestContext?.accountId,
    route: `${event.httpMethod} ${event.resource}`,
    sourceIp: identity?.sourceIp,
    userAgent: headerOf(event.headers, 'user-agent') ?? identity?.userAgent ?? undefined,
    requestId: event.requestContext?.requestId,
  };
}

/**
 * The exact message API Gateway turns into a 401 (REST and HTTP APIs alike). One instance, thrown
 * every time: the message is all API Gateway reads, and a flood of junk should not capture a stack
 * trace per request.
 */
const UNAUTHORIZED = new Error('Unauthorized');

function unauthorized(): never {
  throw UNAUTHORIZED;
}

function policy(
  principalId: string,
  effect: 'Allow' | 'Deny',
  resources: string[],
  context?: KeyContext,
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

/**
 * The context of a Deny, which the ACCESS_DENIED gateway response maps into its body and a
 * `Retry-After` header (`lib/gateway-responses.ts`): empty for every refusal whose reason stays private.
 */
function denyContext(decision: AccessDecision & { effect: 'deny' }): KeyContext {
  // Only where waiting helps does the caller learn the reason, and how long to wait.
  const told = isTold(decision.reason);
  const retry = told && 'retryAfterSeconds' in decision ? decision.retryAfterSeconds : undefined;
  return {
    [DENY_CONTEXT.reason]: told ? decision.reason : '',
    [DENY_CONTEXT.retryAfter]: retry === undefined ? '' : String(retry),
  };
}

/** What the integration receives as the authorizer context (all values strings). */
function keyContext(outcome: AccessOutcome): KeyContext | undefined {
  const { decision } = outcome;
  if (decision.effect !== 'allow') return undefined;
  const k = decision.key;
  const { rate, quota } = outcome.limits ?? {};
  return {
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
  };
}

/** API Gateway's answer for a decision; none for a 401. */
function answer(
  event: AuthorizerEvent,
  outcome: AccessOutcome,
): APIGatewayAuthorizerResult | HttpApiResult | undefined {
  const { decision } = outcome;
  if (decision.effect === 'unauthorized') return undefined;
  const context = keyContext(outcome);
  if (isHttpApi(event)) {
    return context ? { isAuthorized: true, context } : { isAuthorized: false, context: {} };
  }
  if (decision.effect === 'deny') {
    // A cooled-down source IP names no key; an API refusal comes before the key is looked at.
    const principal = decision.key?.id ?? outcome.token?.id ?? 'anonymous';
    return policy(principal, 'Deny', [event.methodArn], denyContext(decision));
  }
  const routes = outcome.api?.routes ?? {};
  return policy(
    decision.key.id,
    'Allow',
    grantedResources(event.methodArn, decision.key.scopes, routes),
    context,
  );
}

/** The decision for `event`, and what API Gateway gets (nothing for a 401). */
async function decide(
  event: AuthorizerEvent,
  view: RequestView,
  now: Date,
): Promise<AccessOutcome & { result?: APIGatewayAuthorizerResult | HttpApiResult }> {
  const outcome = await checkAccess(
    {
      token: view.token,
      api: view.api,
      accountId: view.accountId,
      routeKey: view.route,
      sourceIp: view.sourceIp,
    },
    now,
  );
  const result = answer(event, outcome);
  return result ? { ...outcome, result } : outcome;
}

export function authorize(
  event: AuthorizerEvent,
  now = new Date(),
): Promise<AccessOutcome & { result?: APIGatewayAuthorizerResult | HttpApiResult }> {
  return decide(event, viewOf(event), now);
}

async function handle(
  event: AuthorizerEvent,
  context?: Context,
): Promise<APIGatewayAuthorizerResult | HttpApiResult> {
  if (context) logger.addContext(context);
  const started = performance.now();
  const now = new Date();
  const view = viewOf(event);
  let outcome: Awaited<ReturnType<typeof authorize>>;
  try {
    outcome = await decide(event, view, now);
  } catch (error) {
    // Fail closed: a store we cannot read allows nothing.
    logger.error('Authorizer could not decide', { error_name: (error as Error).name });
    await recordDenial(view, { status: 401, reason: 'store_unavailable' }, now);
    await countRefused(401, 'store_unavailable', undefined, now);
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
        ...(decision.effect === 'deny' && decision.key ? { key_prefix: decision.key.key_prefix } : {}),
      });
    }
    // Every refusal is recorded (never throws): junk in memory, a real key's as its own entry.
    const status = decision.effect === 'deny' ? 403 : 401;
    await recordDenial(
      view,
      { status, reason: decision.reason, token: outcome.token, key: outcome.key },
      now,
    );
    // The overview's counts: in memory, so usually nothing to wait for (services/activity.ts).
    const counting = countRefused(status, decision.reason, outcome.key?.organization_id, now);
    if (counting) await counting;
    recordAuthorization({ result: 'refused', reason: decision.reason }, performance.now() - started);
  } else {
    await recordUse(decision.key, view.sourceIp || undefined, now);
    const counting = countAllowed(decision.key, decision.scope, now);
    if (counting) await counting;
    recordAuthorization({ result: 'allowed' }, performance.now() - started);
  }
  if (!result) return unauthorized();
  return result;
}

/**
 * One function for both front doors: a REST event gets a policy, an HTTP API event a simple answer.
 * Not wrapped in the Tracer: the authorizer loads no X-Ray SDK (its bundle and cold start stay near
 * those of the DynamoDB client). X-Ray still records each invocation, since active tracing is on the
 * function; what it lacks is a subsegment per DynamoDB call (docs/operations.md, Traces).
 */
export const handler = handle as {
  (event: APIGatewayRequestAuthorizerEventV2, context?: Context): Promise<HttpApiResult>;
  // Last: what `ReturnType` reads, for callers that only ever pass REST events.
  (event: APIGatewayRequestAuthorizerEvent, context?: Context): Promise<APIGatewayAuthorizerResult>;
};
