/**
 * What a product team puts in its own stack to protect its API with Latchkey (docs/protecting-apis.md):
 * the shared Latchkey authorizer, attached by ARN, to an API Gateway REST API or HTTP API. The team
 * registers its API's scopes and route → scope map in Latchkey (`PUT /v1/apis/{api}`); these
 * constructs only name that registration (a stage variable), choose the token header and the cache,
 * and give refusals Latchkey's JSON bodies. They create no function, table or grant: the Latchkey
 * stack grants everything the authorizer needs, and lets API Gateway in the accounts it lists
 * invoke it.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import {
  DEFAULT_PARAMETER_PREFIX,
  PARAMETERS,
  STAGE_VARIABLES,
  TOKEN_HEADERS,
  type TokenHeader,
} from '../consumer-contract';
import { LATCHKEY_GATEWAY_RESPONSES } from '../gateway-responses';

export type { TokenHeader };

/** What every Latchkey attachment takes. */
export interface LatchkeyAuthorizerOptions {
  /**
   * The API's name in Latchkey. Its registration (`PUT /v1/apis/{api}`) holds the scopes it defines,
   * the route → scope map, the environment keys must have, and the AWS accounts allowed to use it
   * (this stack's account must be one of them).
   */
  readonly api: string;
  /**
   * ARN of the shared Latchkey authorizer function (the Latchkey stack's output
   * `AuthorizerFunctionArn`). Give it when Latchkey runs in another account: SSM parameters are
   * read in this stack's own account.
   * @default - the SSM parameter `<parameterPrefix>authorizer-function-arn` in this stack's account and region
   */
  readonly authorizerFunctionArn?: string;
  /**
   * Where the Latchkey stack published its SSM parameters (`latchkey:parameterPrefix`).
   * @default '/latchkey/'
   */
  readonly parameterPrefix?: string;
  /**
   * The header callers send their key in: `authorization` (`Authorization: Bearer <key>`) or
   * `x-api-key` (`X-API-Key: <key>`). The authorizer reads only that header, and the cache is keyed
   * on it, so either works with caching on; a request without it is refused with 401.
   * @default 'authorization'
   */
  readonly tokenHeader?: TokenHeader;
  /**
   * `exact`: API Gateway's authorizer cache is off, so every request reaches the authorizer: rate
   * limits and quotas count every request and a revocation applies at once. `cached`: answers are
   * cached for `cacheTtl`; requests answered from the cache are neither counted, limited nor
   * audited (docs/authorizer.md#caching-limits-and-revocation-delay).
   * @default 'exact'
   */
  readonly limitsEnforcement?: 'exact' | 'cached';
  /**
   * How long API Gateway caches the authorizer's answer (0 to 3600 seconds), only with
   * `limitsEnforcement: 'cached'` (above 0 with `exact` fails the synth). This is the revocation
   * delay on AWS: revoking, disabling or expiring a key, or changing its scopes or IP allowlist,
   * takes effect on this API within this time.
   * @default - Duration.seconds(60) with 'cached'; none (0) with 'exact'
   */
  readonly cacheTtl?: Duration;
}

const HEADER_NAMES: Readonly<Record<TokenHeader, string>> = {
  authorization: 'Authorization',
  'x-api-key': 'X-API-Key',
};

interface Resolved {
  readonly fn: lambda.IFunction;
  readonly header: TokenHeader;
  readonly ttl: Duration;
  readonly stageVariables: Readonly<Record<string, string>>;
}

/** Validates the options and imports the shared function, never adding a permission to it. */
function resolve(scope: Construct, options: LatchkeyAuthorizerOptions): Resolved {
  if (!/^[a-z][a-z0-9-]{0,62}$/.test(options.api)) {
    throw new Error(
      `api must be a registered API name (lowercase letters, digits, -); got ${JSON.stringify(options.api)}`,
    );
  }
  const header = options.tokenHeader ?? 'authorization';
  if (!(TOKEN_HEADERS as readonly string[]).includes(header)) {
    throw new Error(`tokenHeader must be one of ${TOKEN_HEADERS.join(', ')}; got ${JSON.stringify(header)}`);
  }
  const enforcement = options.limitsEnforcement ?? 'exact';
  if (enforcement !== 'exact' && enforcement !== 'cached') {
    throw new Error(`limitsEnforcement must be exact or cached; got ${JSON.stringify(enforcement)}`);
  }
  const ttl = options.cacheTtl ?? Duration.seconds(enforcement === 'cached' ? 60 : 0);
  const seconds = ttl.toSeconds();
  if (seconds < 0 || seconds > 3600) throw new Error(`cacheTtl must be 0 to 3600 seconds; got ${seconds}`);
  if (enforcement === 'exact' && seconds > 0) {
    throw new Error(
      "cacheTtl above 0 lets cached answers bypass rate limits and quotas; set limitsEnforcement: 'cached' to accept that",
    );
  }
  const functionArn =
    options.authorizerFunctionArn ??
    ssm.StringParameter.valueForStringParameter(
      scope,
      `${options.parameterPrefix ?? DEFAULT_PARAMETER_PREFIX}${PARAMETERS.authorizerFunctionArn}`,
    );
  const fn = lambda.Function.fromFunctionAttributes(scope, 'LatchkeyAuthorizerFunction', {
    functionArn,
    // The Latchkey stack grants API Gateway the invoke (aws:SourceAccount per consumer account):
    // nothing here may or needs to change the function's policy.
    sameEnvironment: false,
    skipPermissions: true,
  });
  return {
    fn,
    header,
    ttl,
    stageVariables: { [STAGE_VARIABLES.api]: options.api, [STAGE_VARIABLES.tokenHeader]: header },
  };
}

/**
 * Gives `api` Latchkey's answers for the refusals API Gateway answers itself (`lib/gateway-responses.ts`,
 * docs/authorizer.md): JSON error bodies instead of `{"message": ...}`, and on a 403 the refusal's
 * `reason` and a `Retry-After` header when waiting helps (rate limit, quota, cool-down). Never the
 * reason of any other refusal.
 */
export function addLatchkeyGatewayResponses(
  api: apigateway.RestApiBase,
  /**
   * Static headers for every answer API Gateway gives itself: the management API names the hosted
   * console's origin (`Access-Control-Allow-Origin`) so the browser can read its refusals.
   */
  staticHeaders: Readonly<Record<string, string>> = {},
): void {
  const fixed = Object.fromEntries(Object.entries(staticHeaders).map(([h, v]) => [h, `'${v}'`]));
  for (const r of LATCHKEY_GATEWAY_RESPONSES) {
    api.addGatewayResponse(r.type === 'UNAUTHORIZED' ? 'Unauthorized' : 'AccessDenied', {
      type: apigateway.ResponseType.of(r.type),
      statusCode: String(r.statusCode),
      responseHeaders: {
        ...fixed,
        ...Object.fromEntries(
          Object.entries(r.headers).map(([header, key]) => [header, `context.authorizer.${key}`]),
        ),
      },
      templates: { 'application/json': r.template },
    });
  }
  if (Object.keys(fixed).length === 0) return;
  // Every other refusal (bad signature, throttling, unknown route, integration failure): API
  // Gateway's own body, with the headers.
  api.addGatewayResponse('Default4xx', { type: apigateway.ResponseType.DEFAULT_4XX, responseHeaders: fixed });
  api.addGatewayResponse('Default5xx', { type: apigateway.ResponseType.DEFAULT_5XX, responseHeaders: fixed });
}

export interface LatchkeyRestApiAuthorizerProps extends LatchkeyAuthorizerOptions {
  /** The REST API to protect. Its deployment stage gets the stage variables naming the registration. */
  readonly restApi: apigateway.RestApi;
  /**
   * Give the API's 401 and 403 refusals Latchkey's JSON bodies (`{"error":{"code":"unauthorized",...}}`).
   * @default true
   */
  readonly gatewayResponses?: boolean;
}

/**
 * The shared Latchkey authorizer on an API Gateway **REST** API: a `REQUEST` authorizer, answered
 * with an IAM policy. Put methods behind it with `protect()`, or pass `methodOptions` to `addMethod`.
 * On stages other than the API's deployment stage, set `stageVariables` yourself.
 */
export class LatchkeyRestApiAuthorizer extends Construct {
  readonly authorizer: apigateway.RequestAuthorizer;
  /** The stage variables that name the registration and the token header; every stage needs them. */
  readonly stageVariables: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: LatchkeyRestApiAuthorizerProps) {
    super(scope, id);
    const { fn, header, ttl, stageVariables } = resolve(this, props);
    this.stageVariables = stageVariables;
    // With caching on, the answer is keyed on the token header, the caller's IP (so IP allowlists
    // hold) and the route (a policy is reused only for the route it was decided for).
    const identitySources =
      ttl.toSeconds() > 0
        ? [
            apigateway.IdentitySource.header(HEADER_NAMES[header]),
            apigateway.IdentitySource.context('identity.sourceIp'),
            apigateway.IdentitySource.context('httpMethod'),
            apigateway.IdentitySource.context('resourcePath'),
          ]
        : [];
    this.authorizer = new apigateway.RequestAuthorizer(this, 'Authorizer', {
      handler: fn,
      resultsCacheTtl: ttl,
      identitySources,
    });
    if (identitySources.length === 0) {
      // Omitted rather than "": without caching, API Gateway then calls the authorizer for every
      // request, so even one without a token is decided (and audited) by Latchkey.
      (this.authorizer.node.defaultChild as apigateway.CfnAuthorizer).addPropertyDeletionOverride(
        'IdentitySource',
      );
    }
    const stage = props.restApi.deploymentStage?.node.defaultChild as apigateway.CfnStage | undefined;
    for (const [name, value] of Object.entries(stageVariables)) {
      stage?.addPropertyOverride(`Variables.${name}`, value);
    }
    if (props.gatewayResponses ?? true) addLatchkeyGatewayResponses(props.restApi);
  }

  /** Options for `addMethod` that put a method behind Latchkey. */
  get methodOptions(): apigateway.MethodOptions {
    return { authorizer: this.authorizer, authorizationType: apigateway.AuthorizationType.CUSTOM };
  }

  /** Adds `httpMethod` on `resource` behind Latchkey; its route must be in the registration's route map. */
  protect(
    resource: apigateway.IResource,
    httpMethod: string,
    integration: apigateway.Integration,
    options: apigateway.MethodOptions = {},
  ): apigateway.Method {
    return resource.addMethod(httpMethod, integration, { ...options, ...this.methodOptions });
  }
}

export interface LatchkeyHttpApiAuthorizerProps extends LatchkeyAuthorizerOptions {
  /** The HTTP API to protect. Its default stage gets the stage variables naming the registration. */
  readonly httpApi: apigwv2.HttpApi;
}

/**
 * The shared Latchkey authorizer on an API Gateway **HTTP API**: a Lambda authorizer with payload
 * 2.0 and simple responses (`{ isAuthorized }`). Pass `authorizer` to `addRoutes`. HTTP APIs have
 * no gateway responses: refusals there have API Gateway's own bodies (`{"message":"Forbidden"}`).
 */
export class LatchkeyHttpApiAuthorizer extends Construct {
  /** For `httpApi.addRoutes({ ..., authorizer })` or a route's `authorizer`. */
  readonly authorizer: apigwv2.IHttpRouteAuthorizer;
  readonly stageVariables: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: LatchkeyHttpApiAuthorizerProps) {
    super(scope, id);
    const { fn, header, ttl, stageVariables } = resolve(this, props);
    this.stageVariables = stageVariables;
    const stack = Stack.of(this);
    const created = new apigwv2.HttpAuthorizer(this, 'Authorizer', {
      httpApi: props.httpApi,
      type: apigwv2.HttpAuthorizerType.LAMBDA,
      authorizerUri: `arn:${stack.partition}:apigateway:${stack.region}:lambda:path/2015-03-31/functions/${fn.functionArn}/invocations`,
      payloadFormatVersion: apigwv2.AuthorizerPayloadVersion.VERSION_2_0,
      enableSimpleResponses: true,
      resultsCacheTtl: ttl,
      // The route key (method and path template) keys the cache, so an answer is only reused for its route.
      identitySource:
        ttl.toSeconds() > 0
          ? [`$request.header.${HEADER_NAMES[header]}`, '$context.identity.sourceIp', '$context.routeKey']
          : [],
    });
    if (ttl.toSeconds() === 0) {
      (created.node.defaultChild as apigwv2.CfnAuthorizer).addPropertyDeletionOverride('IdentitySource');
    }
    this.authorizer = apigwv2.HttpAuthorizer.fromHttpAuthorizerAttributes(this, 'RouteAuthorizer', {
      authorizerId: created.authorizerId,
      authorizerType: 'CUSTOM',
    });
    for (const [name, value] of Object.entries(stageVariables)) {
      props.httpApi.defaultStage?.addStageVariable(name, value);
    }
  }
}
