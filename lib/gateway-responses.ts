/**
 * The answers API Gateway gives itself when the Latchkey authorizer refuses a request
 * (docs/authorizer.md#what-a-refused-caller-sees): one declaration, turned into gateway responses by
 * CDK (`addLatchkeyGatewayResponses`) and rendered by the local gateway, so both answer alike.
 *
 * A REST API Lambda authorizer cannot choose the status: a thrown `Unauthorized` is a `401`, a Deny
 * policy a `403`. What it can do on a Deny is return a context, which the ACCESS_DENIED gateway
 * response maps into its body and headers (`$context.authorizer.<key>`). Gateway response templates
 * are plain variable substitution, not VTL, and ACCESS_DENIED also answers IAM (SigV4) denials,
 * where there is no authorizer context: so the body keeps `code: "forbidden"` for every 403 and
 * says what kind of refusal it was in `reason`, which is empty unless waiting helps.
 *
 * Pure data with no CDK import.
 */

/** Context keys the authorizer sets on every Deny (empty strings when they do not apply). */
export const DENY_CONTEXT = {
  /** `rate_limited`, `quota_exhausted` or `ip_cooling_down`; empty for every other refusal. */
  reason: 'reason',
  /** Whole seconds until the refusal would end; empty when waiting does not help. */
  retryAfter: 'retryAfter',
} as const;

export interface GatewayResponseDeclaration {
  /** API Gateway's response type. */
  readonly type: 'UNAUTHORIZED' | 'ACCESS_DENIED';
  readonly statusCode: number;
  /** Response header → the authorizer context key whose value it carries (omitted when empty). */
  readonly headers: Readonly<Record<string, string>>;
  /** The `application/json` body; `$context.authorizer.<key>` is replaced by that context value. */
  readonly template: string;
}

const fromContext = (key: string) => `$context.authorizer.${key}`;

export const LATCHKEY_GATEWAY_RESPONSES: readonly GatewayResponseDeclaration[] = [
  {
    type: 'UNAUTHORIZED',
    statusCode: 401,
    headers: {},
    template: JSON.stringify({ error: { code: 'unauthorized', message: 'Unauthorized' } }),
  },
  {
    type: 'ACCESS_DENIED',
    statusCode: 403,
    headers: { 'Retry-After': DENY_CONTEXT.retryAfter },
    template: JSON.stringify({
      error: {
        code: 'forbidden',
        message: 'Forbidden',
        reason: fromContext(DENY_CONTEXT.reason),
        retry_after: fromContext(DENY_CONTEXT.retryAfter),
      },
    }),
  },
];

export interface RenderedResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** JSON-string content: the template puts context values inside quotes. */
function escapeJson(value: string): string {
  return JSON.stringify(value).slice(1, -1);
}

/**
 * What API Gateway sends for `type` given the authorizer's context (values as strings): the local
 * gateway's rendering of the declaration above. A context key the authorizer did not set is empty.
 */
export function renderGatewayResponse(
  type: GatewayResponseDeclaration['type'],
  context: Readonly<Record<string, string>>,
  responses: readonly GatewayResponseDeclaration[] = LATCHKEY_GATEWAY_RESPONSES,
): RenderedResponse | undefined {
  const r = responses.find((x) => x.type === type);
  if (!r) return undefined;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  for (const [header, key] of Object.entries(r.headers)) {
    const value = Object.hasOwn(context, key) ? context[key] : undefined;
    if (value) headers[header.toLowerCase()] = value;
  }
  const body = r.template.replace(/\$context\.authorizer\.([A-Za-z0-9_]+)/g, (_m, key: string) =>
    escapeJson(Object.hasOwn(context, key) ? (context[key] ?? '') : ''),
  );
  return { status: r.statusCode, headers, body };
}
