/**
 * Runs the Latchkey authorizer for a protected route and turns its answer into API Gateway's:
 * allow with the context the integration sees, or the exact error API Gateway would return.
 * No result caching locally (TTL 0), so revocations and scope changes apply at once.
 */
import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import type { FunctionDeclaration } from '../lib/declaration';
import type { LocalLambdas } from './lambda';
import { evaluatePolicy, InvalidPolicyError } from './policy';

export type AuthorizerOutcome =
  | { readonly kind: 'allow'; readonly context: Record<string, string> }
  | {
      readonly kind: 'refuse';
      readonly status: number;
      readonly errorType: string;
      readonly message: string | null;
      /** Which gateway response API Gateway would send, for refusals that have one. */
      readonly responseType?: 'UNAUTHORIZED' | 'ACCESS_DENIED';
      /** The authorizer's context on a Deny, for the gateway response's `$context.authorizer.*`. */
      readonly context?: Record<string, string>;
    };

const configurationError = {
  kind: 'refuse',
  status: 500,
  errorType: 'AuthorizerConfigurationException',
  message: null,
} as const;

/** API Gateway passes context values as strings; objects and arrays are a configuration error. */
function stringifyContext(principalId: string, context: unknown): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  if (context !== undefined && context !== null) {
    if (typeof context !== 'object' || Array.isArray(context)) return undefined;
    for (const [k, v] of Object.entries(context)) {
      if (v === null || v === undefined) continue;
      if (typeof v === 'object') return undefined;
      out[k] = String(v);
    }
  }
  out.principalId = principalId;
  return out;
}

export async function runAuthorizer(
  lambdas: LocalLambdas,
  fn: FunctionDeclaration,
  event: APIGatewayRequestAuthorizerEvent,
  log: (message: string) => void,
): Promise<AuthorizerOutcome> {
  let result: unknown;
  try {
    result = await lambdas.invoke(fn, event);
  } catch (error) {
    if (error instanceof Error && error.message === 'Unauthorized') {
      return {
        kind: 'refuse',
        status: 401,
        errorType: 'UnauthorizedException',
        message: 'Unauthorized',
        responseType: 'UNAUTHORIZED',
      };
    }
    log(`authorizer failed: ${error instanceof Error ? error.message : String(error)}`);
    return configurationError;
  }
  if (typeof result !== 'object' || result === null) {
    log('authorizer returned no result object');
    return configurationError;
  }
  const { principalId, policyDocument, context } = result as Record<string, unknown>;
  const stringified =
    typeof principalId === 'string' && principalId ? stringifyContext(principalId, context) : undefined;
  if (!stringified) {
    log('authorizer result needs a principalId and a context of strings, numbers or booleans');
    return configurationError;
  }
  try {
    const decision = evaluatePolicy(policyDocument, event.methodArn);
    if (decision === 'allow') return { kind: 'allow', context: stringified };
    return {
      kind: 'refuse',
      status: 403,
      errorType: 'AccessDeniedException',
      message:
        decision === 'explicit-deny'
          ? 'User is not authorized to access this resource with an explicit deny'
          : 'User is not authorized to access this resource',
      responseType: 'ACCESS_DENIED',
      context: stringified,
    };
  } catch (error) {
    if (!(error instanceof InvalidPolicyError)) throw error;
    log(`authorizer policy is invalid: ${error.message}`);
    return configurationError;
  }
}
