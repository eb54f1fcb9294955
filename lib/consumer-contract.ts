/**
 * The contract between a Latchkey deployment and the product teams' stacks that use it
 * (docs/protecting-apis.md): the stage variables the consumer constructs set and the shared
 * authorizer reads, and the SSM parameters the Latchkey stack publishes (the refusals' bodies are
 * `lib/gateway-responses.ts`). Pure data: the published package ships it, the handlers and the local
 * stack read it.
 */

/** Stage variables the consumer constructs set on a product team's API stage. */
export const STAGE_VARIABLES = {
  /** The registered API the stage belongs to; absent: the built-in registration `default`. */
  api: 'latchkeyApi',
  /** The one header the token is read from, the one the authorizer cache is keyed on; absent: either. */
  tokenHeader: 'latchkeyTokenHeader',
} as const;

/** Where a caller may present the token: `Authorization: Bearer <key>` or `X-API-Key: <key>`. */
export const TOKEN_HEADERS = ['authorization', 'x-api-key'] as const;
export type TokenHeader = (typeof TOKEN_HEADERS)[number];

/** The SSM parameters (under `latchkey:parameterPrefix`, default `/latchkey/`) the stack publishes. */
export const PARAMETERS = {
  authorizerFunctionArn: 'authorizer-function-arn',
  apiUrl: 'api-url',
  keysTableArn: 'keys-table-arn',
  countersTableArn: 'counters-table-arn',
  auditTableArn: 'audit-table-arn',
  apisTableArn: 'apis-table-arn',
  kmsKeyArn: 'kms-key-arn',
  eventBusArn: 'event-bus-arn',
} as const;

export const DEFAULT_PARAMETER_PREFIX = '/latchkey/';
