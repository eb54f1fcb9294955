/**
 * The person behind identity-pool credentials (docs/console-on-aws.md): every member of a console
 * group signs as the same role session, so the audit trail also records the user pool user API
 * Gateway names for the request. It says who, for the record only: authorization stays the IAM
 * principal and its bindings. No AWS imports.
 */

/** A Cognito user pool user, as API Gateway reports a request signed with identity-pool credentials. */
export interface FederatedUser {
  readonly provider: 'cognito';
  /** e.g. `eu-west-1_AbC123`. */
  readonly user_pool_id: string;
  /** The user pool user's `sub` (stable; `aws cognito-idp list-users --filter 'sub = "<sub>"'`). */
  readonly sub: string;
  /** The identity pool's id for the user, e.g. `eu-west-1:1f2e…`. */
  readonly identity_id?: string;
}

/** The identity fields of a REST API (v1) request context that matter here; any may be null. */
export interface CognitoRequestIdentity {
  readonly cognitoAuthenticationType?: string | null;
  readonly cognitoAuthenticationProvider?: string | null;
  readonly cognitoIdentityId?: string | null;
}

const MARKER = ':CognitoSignIn:';
// Cognito's documented shapes: user pool id `[\w-]+_[0-9a-zA-Z]+` (max 55), identity id
// `[\w-]+:[0-9a-f-]+` (max 55); a sub is a UUID. Anything else is not trusted to name a person.
const PROVIDER_HOST = /^(?:https:\/\/)?cognito-idp\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?$/;
const USER_POOL_ID = /^[\w-]{1,50}_[0-9a-zA-Z]{1,50}$/;
const SUB = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const IDENTITY_ID = /^[\w-]{1,50}:[0-9a-f-]{1,64}$/;

/**
 * The user pool user of an `authenticated` identity-pool caller, or undefined when the request was
 * not signed with such credentials or the fields do not have the expected shape. The provider is
 * `cognito-idp.<region>.amazonaws.com/<pool>,cognito-idp.<region>.amazonaws.com/<pool>:CognitoSignIn:<sub>`:
 * the segment with the sign-in marker names the pool and the user.
 */
export function federatedUserOf(
  identity: CognitoRequestIdentity | null | undefined,
): FederatedUser | undefined {
  if (identity?.cognitoAuthenticationType !== 'authenticated') return undefined;
  const provider = identity.cognitoAuthenticationProvider;
  if (typeof provider !== 'string' || provider.length > 1024) return undefined;
  const signIns = provider.split(',').filter((segment) => segment.includes(MARKER));
  // Exactly one user pool sign-in, or we cannot say which user it was.
  if (signIns.length !== 1) return undefined;
  const [issuer, sub, ...rest] = (signIns[0] as string).trim().split(MARKER);
  if (rest.length > 0 || !issuer || !sub || !SUB.test(sub)) return undefined;
  const slash = issuer.lastIndexOf('/');
  const host = issuer.slice(0, slash);
  const userPoolId = issuer.slice(slash + 1);
  if (slash < 0 || !PROVIDER_HOST.test(host) || !USER_POOL_ID.test(userPoolId)) return undefined;
  const identityId = identity.cognitoIdentityId;
  return {
    provider: 'cognito',
    user_pool_id: userPoolId,
    sub,
    ...(typeof identityId === 'string' && IDENTITY_ID.test(identityId) ? { identity_id: identityId } : {}),
  };
}

/** A stored federated user read back (a stream image, an audit item): its shape checked again. */
export function storedFederatedUser(value: unknown): FederatedUser | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (v.provider !== 'cognito') return undefined;
  if (typeof v.user_pool_id !== 'string' || !USER_POOL_ID.test(v.user_pool_id)) return undefined;
  if (typeof v.sub !== 'string' || !SUB.test(v.sub)) return undefined;
  const identityId =
    typeof v.identity_id === 'string' && IDENTITY_ID.test(v.identity_id) ? v.identity_id : undefined;
  return {
    provider: 'cognito',
    user_pool_id: v.user_pool_id,
    sub: v.sub,
    ...(identityId ? { identity_id: identityId } : {}),
  };
}
