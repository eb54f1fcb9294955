/**
 * `POST /v1/keys/verify` (docs/authorizer.md): the authorizer's decision for services behind any
 * other front door (ALB, ECS, function URLs). The same check (`checkAccess`), the same outcome
 * codes, the same audit of refusals and the same once-a-minute use counts; only the answer differs:
 * the outcome itself, for an IAM-authenticated caller, instead of an API Gateway policy.
 */
import { type OutcomeCode, outcomeStatus, STORE_UNAVAILABLE, type VerifyResult } from '../domain/outcomes';
import { logger } from '../shared/logger';
import { recordDenial, recordUse } from './access-audit';
import { type AccessOutcome, checkAccess } from './authorization';

export interface VerifyRequest {
  /** The token the service's caller presented, if any. */
  readonly key?: string | undefined;
  readonly api: string;
  /** `"METHOD /path"` of the API's route map, or */
  readonly route?: string | undefined;
  /** a scope the key must hold (the route map is then not consulted). */
  readonly scope?: string | undefined;
  /** The service's caller's IP, for keys with an IP allowlist. */
  readonly source_ip?: string | undefined;
}

/** Who asks: the IAM caller's account must be one the API's registration admits. */
export interface Verifier {
  readonly accountId: string | undefined;
  readonly userAgent?: string | undefined;
  readonly requestId?: string | undefined;
}

function resultOf(code: OutcomeCode, outcome?: AccessOutcome): VerifyResult {
  const decision = outcome?.decision;
  const key = decision?.effect === 'allow' ? decision.key : undefined;
  const retry = decision && 'retryAfterSeconds' in decision ? decision.retryAfterSeconds : undefined;
  return {
    valid: code === 'allowed',
    code,
    key_id: outcome?.token?.id ?? null,
    scopes: key ? [...key.scopes] : null,
    organization_id: key?.organization_id ?? null,
    workspace_id: key?.workspace_id ?? null,
    environment: key?.environment ?? null,
    retry_after: retry ?? null,
  };
}

export async function verifyKey(
  request: VerifyRequest,
  verifier: Verifier,
  now = new Date(),
): Promise<VerifyResult> {
  const origin = {
    route: request.route ?? `scope ${request.scope}`,
    api: request.api,
    sourceIp: request.source_ip,
    userAgent: verifier.userAgent,
    requestId: verifier.requestId,
  };
  let outcome: AccessOutcome;
  try {
    outcome = await checkAccess(
      {
        token: request.key || undefined,
        api: request.api,
        accountId: verifier.accountId,
        routeKey: request.route ?? '',
        ...(request.scope !== undefined ? { scope: request.scope } : {}),
        sourceIp: request.source_ip,
      },
      now,
    );
  } catch (error) {
    // Fail closed, as the authorizer: a store we cannot read allows nothing.
    logger.error('Verify could not decide', { error_name: (error as Error).name });
    await recordDenial(origin, { status: 401, reason: STORE_UNAVAILABLE }, now);
    return resultOf(STORE_UNAVAILABLE);
  }
  const { decision } = outcome;
  if (decision.effect === 'allow') {
    await recordUse(decision.key, request.source_ip, now);
    return resultOf('allowed', outcome);
  }
  const status = outcomeStatus(decision.reason) as 401 | 403;
  await recordDenial(
    origin,
    { status, reason: decision.reason, token: outcome.token, key: outcome.key },
    now,
  );
  return resultOf(decision.reason, outcome);
}
