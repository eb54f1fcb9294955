import { Duration, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import type { ThrottleConfig } from '../config';
import { routes as declaredRoutes, type RouteDeclaration } from '../declaration';
import { addLatchkeyGatewayResponses } from './protected-api';

/** The headers a browser sends with a SigV4-signed JSON call (the hosted console's preflight allows them). */
export const CONSOLE_CORS_ALLOW_HEADERS = [
  'authorization',
  'content-type',
  'x-amz-date',
  'x-amz-security-token',
  'x-amz-content-sha256',
] as const;

export interface ManagementApiProps {
  /**
   * The routes to serve.
   * @default routes from lib/declaration.ts
   */
  readonly routes?: readonly RouteDeclaration[];
  /** The Lambda function behind each declared function, by `FunctionDeclaration.name`. */
  readonly handlers: Readonly<Record<string, lambda.IFunction>>;
  /**
   * The shared Latchkey authorizer, which guards the routes whose `auth.type` is `latchkey` (the
   * demo routes, the built-in registration's route map); required when there are such routes.
   * @default - none
   */
  readonly authorizer?: lambda.IFunction;
  /**
   * How long API Gateway caches the authorizer's answer on the demo routes (`latchkey:authorizerCacheTtlSeconds`).
   * @default Duration.seconds(60)
   */
  readonly authorizerCacheTtl?: Duration;
  /**
   * Stage-wide throttling.
   * @default { rateLimit: 100, burstLimit: 200 }
   */
  readonly throttle?: ThrottleConfig;
  /**
   * Retention of the access log.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly accessLogRetention?: logs.RetentionDays;
  /**
   * Create the account-wide role API Gateway needs to write logs. Set false when the account
   * already has one (it is a per-region account setting; the last stack to set it wins).
   * @default true
   */
  readonly cloudWatchRole?: boolean;
  /**
   * Other accounts whose IAM principals may call `POST /v1/keys/verify` (services there check keys
   * themselves): a resource policy admits them on that route alone; their own identity policies
   * still decide which principals. Callers in this account need no resource policy.
   * @default - none
   */
  readonly verifyAccounts?: readonly string[];
  /**
   * A REGIONAL WAFv2 web ACL to associate with the stage.
   * @default - none
   */
  readonly webAclArn?: string;
  /**
   * The hosted console's origin (`https://<host>`, docs/console-on-aws.md): the `iam` routes answer
   * its CORS preflight, and API Gateway's own refusals name it in `Access-Control-Allow-Origin` (the
   * handlers' answers do it themselves, from their `consoleOrigin` setting).
   * @default - no CORS: nothing answers a preflight
   */
  readonly corsOrigin?: string;
  /**
   * `aws:PrincipalArn` patterns exempt from the MFA condition of routes declared `mfa`: principals
   * whose credentials only ever come from an MFA sign-in that IAM cannot see (the console's roles,
   * whose sessions come from a Cognito user pool that requires MFA).
   * @default - none
   */
  readonly mfaExemptPrincipals?: readonly string[];
}

/**
 * The REST API's resource policy: for each route declared `mfa`, a Deny unless the caller's
 * credentials carry MFA. Deny statements only: with `AWS_IAM`, a same-account caller still needs an
 * identity policy allowing `execute-api:Invoke`, so the policy narrows access and never widens it
 * (an Allow for `*` here would let any account's principals in). `undefined` when no route needs MFA.
 */
export function mfaResourcePolicy(
  routes: readonly RouteDeclaration[],
  exempt: readonly string[] = [],
): iam.PolicyDocument | undefined {
  const mfa = routes.filter((r) => r.mfa);
  if (mfa.length === 0) return undefined;
  return new iam.PolicyDocument({
    statements: [
      new iam.PolicyStatement({
        sid: 'RequireMfa',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['execute-api:Invoke'],
        resources: mfa.map((r) => `execute-api:/*/${r.method}${r.path.replace(/\{[^}]+\}/g, '*')}`),
        // Absent (long-term access keys) counts as no MFA. Conditions are ANDed: an exempt
        // principal is never denied here (identity-pool sessions never carry the MFA key).
        conditions: {
          BoolIfExists: { 'aws:MultiFactorAuthPresent': 'false' },
          ...(exempt.length > 0 ? { ArnNotLike: { 'aws:PrincipalArn': [...exempt] } } : {}),
        },
      }),
    ],
  });
}

/**
 * The API's resource policy, when it needs one: the MFA denials above, and an allow of
 * `POST /v1/keys/verify` for the consumer accounts' principals (docs/protecting-apis.md); callers
 * in this account need no resource policy.
 */
function resourcePolicy(
  routes: readonly RouteDeclaration[],
  verifyAccounts: readonly string[],
  mfaExempt: readonly string[],
  preflight: boolean,
): iam.PolicyDocument | undefined {
  const mfa = mfaResourcePolicy(routes, mfaExempt);
  if (verifyAccounts.length === 0 && !preflight) return mfa;
  const document = mfa ?? new iam.PolicyDocument();
  if (verifyAccounts.length > 0) {
    document.addStatements(
      new iam.PolicyStatement({
        sid: 'ConsumerAccountsVerify',
        principals: verifyAccounts.map((a) => new iam.AccountPrincipal(a)),
        actions: ['execute-api:Invoke'],
        resources: ['execute-api:/*/POST/v1/keys/verify'],
      }),
    );
  }
  if (preflight) {
    // With a resource policy, a method without authorization (the CORS preflights' mock OPTIONS)
    // needs an explicit Allow, else API Gateway denies it implicitly. OPTIONS only: it reaches no
    // function and says only which origin, methods and headers the console may use.
    document.addStatements(
      new iam.PolicyStatement({
        sid: 'CorsPreflight',
        principals: [new iam.AnyPrincipal()],
        actions: ['execute-api:Invoke'],
        resources: ['execute-api:/*/OPTIONS/v1/*'],
      }),
    );
  }
  return document;
}

/**
 * The REST API: every declared route, SigV4 (`AWS_IAM`) on management routes and the Latchkey
 * authorizer on protected ones; one proxy integration per route. Requests are validated in the
 * handlers, which answer with the docs/management-api.md error shape. Routes declared `mfa` are
 * refused by the resource policy unless the caller signed with MFA credentials.
 */
export class ManagementApi extends Construct {
  readonly api: apigateway.RestApi;
  readonly accessLogGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ManagementApiProps) {
    super(scope, id);
    const throttle = props.throttle ?? { rateLimit: 100, burstLimit: 200 };
    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.accessLogRetention ?? logs.RetentionDays.ONE_YEAR,
    });
    const f = apigateway.AccessLogField;

    const routes = props.routes ?? declaredRoutes;
    const policy = resourcePolicy(
      routes,
      props.verifyAccounts ?? [],
      props.mfaExemptPrincipals ?? [],
      props.corsOrigin !== undefined,
    );
    this.api = new apigateway.RestApi(this, 'Api', {
      description: 'Latchkey: API key management (AWS_IAM) and key-protected demo routes',
      ...(policy ? { policy } : {}),
      // Callers are AWS workloads and admins in the region; no CloudFront in front.
      endpointConfiguration: { types: [apigateway.EndpointType.REGIONAL] },
      cloudWatchRole: props.cloudWatchRole ?? true,
      deployOptions: {
        throttlingRateLimit: throttle.rateLimit,
        throttlingBurstLimit: throttle.burstLimit,
        tracingEnabled: true,
        metricsEnabled: true,
        loggingLevel: apigateway.MethodLoggingLevel.INFO,
        // Never true: data trace logs request headers and bodies, i.e. the tokens themselves.
        dataTraceEnabled: false,
        accessLogDestination: new apigateway.LogGroupLogDestination(this.accessLogGroup),
        // Who (IAM principal or key id), what, from where, and the outcome; never a header value.
        accessLogFormat: apigateway.AccessLogFormat.custom(
          JSON.stringify({
            requestId: f.contextRequestId(),
            requestTime: f.contextRequestTime(),
            httpMethod: f.contextHttpMethod(),
            resourcePath: f.contextResourcePath(),
            status: f.contextStatus(),
            responseLength: f.contextResponseLength(),
            responseLatency: f.contextResponseLatency(),
            sourceIp: f.contextIdentitySourceIp(),
            userAgent: f.contextIdentityUserAgent(),
            userArn: f.contextIdentityUserArn(),
            keyId: f.contextAuthorizerPrincipalId(),
            authorizerStatus: f.contextAuthorizerStatus(),
            error: f.contextErrorMessage(),
            integrationError: f.contextIntegrationErrorMessage(),
          }),
        ),
      },
    });
    addLatchkeyGatewayResponses(
      this.api,
      props.corsOrigin ? { 'Access-Control-Allow-Origin': props.corsOrigin, Vary: 'Origin' } : {},
    );

    const authorizer = routes.some((r) => r.auth.type === 'latchkey')
      ? this.demoAuthorizer(props)
      : undefined;
    const preflighted = new Set<apigateway.IResource>();
    for (const route of routes) {
      const handler = props.handlers[route.fn.name];
      if (!handler) throw new Error(`No handler for ${route.fn.name} (${route.method} ${route.path})`);
      const resource = this.api.root.resourceForPath(route.path);
      // Console test-invoke is not a way in: each function may be invoked by its own method only.
      const integration = new apigateway.LambdaIntegration(handler, { allowTestInvoke: false });
      if (route.auth.type === 'iam') {
        resource.addMethod(route.method, integration, {
          authorizationType: apigateway.AuthorizationType.IAM,
        });
        if (props.corsOrigin && !preflighted.has(resource)) {
          preflighted.add(resource);
          this.corsPreflight(resource, props.corsOrigin);
        }
      } else {
        resource.addMethod(route.method, integration, {
          authorizer,
          authorizationType: apigateway.AuthorizationType.CUSTOM,
        });
      }
    }

    if (props.webAclArn) {
      new wafv2.CfnWebACLAssociation(this, 'WebAcl', {
        resourceArn: this.api.deploymentStage.stageArn,
        webAclArn: props.webAclArn,
      });
    } else {
      Validations.of(this).acknowledge({
        id: 'AwsSolutions-APIG3',
        reason:
          'No web ACL by default: stage throttling, SigV4 on management routes and the authorizer (format/checksum ' +
          'rejection without a database read) bound abuse; set latchkey:webAclArn to attach an account WAF.',
      });
    }
    Validations.of(this).acknowledge(
      {
        id: 'AwsSolutions-APIG2',
        reason:
          'Requests are validated in the handlers (zod), which must name every bad field in the docs/management-api.md error ' +
          'shape; API Gateway validation would answer first with its own shape.',
      },
      {
        id: 'AwsSolutions-COG4',
        reason:
          'No Cognito by design (docs/architecture.md): management routes use AWS_IAM (SigV4) and protected routes the Latchkey ' +
          'Lambda authorizer; no method is open.',
      },
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason:
          'The account-level API Gateway logging role must be able to create the execution log groups API Gateway ' +
          'names itself; AWS maintains this managed policy for exactly that role.',
      },
    );
  }

  /**
   * The browser's preflight for `resource`: a mock answer naming the console's origin, the methods
   * and the SigV4 headers. No authorization: a preflight carries no credentials, and it reveals
   * nothing (the same answer for every path).
   */
  private corsPreflight(resource: apigateway.IResource, origin: string): void {
    const method = resource.addCorsPreflight({
      allowOrigins: [origin],
      allowMethods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowHeaders: [...CONSOLE_CORS_ALLOW_HEADERS],
      exposeHeaders: ['x-next-token', 'retry-after'],
      maxAge: Duration.hours(1),
    });
    Validations.of(method).acknowledge(
      {
        id: 'AwsSolutions-APIG4',
        reason:
          'A CORS preflight (OPTIONS) carries no credentials by the Fetch standard; this mock answer only names the ' +
          "console's origin, methods and headers, the same for every path, and reaches no function.",
      },
      {
        id: 'AwsSolutions-COG4',
        reason:
          'A CORS preflight cannot carry a Cognito token (or any credential); the real request that follows is ' +
          'SigV4-signed with the identity pool credentials and authorized by IAM.',
      },
    );
  }

  /**
   * The shared authorizer on this API's own protected routes. No stage variable: they are the
   * built-in registration's, and a token may come in either header (with caching on, API Gateway
   * needs the Authorization header, which keys the cache with the caller's IP and the route).
   */
  private demoAuthorizer(props: ManagementApiProps): apigateway.RequestAuthorizer {
    if (!props.authorizer) throw new Error('Routes with latchkey auth need the authorizer function');
    const ttl = props.authorizerCacheTtl ?? Duration.seconds(60);
    const identitySources =
      ttl.toSeconds() > 0
        ? [
            apigateway.IdentitySource.header('Authorization'),
            apigateway.IdentitySource.context('identity.sourceIp'),
            apigateway.IdentitySource.context('httpMethod'),
            apigateway.IdentitySource.context('resourcePath'),
          ]
        : [];
    const authorizer = new apigateway.RequestAuthorizer(this, 'DemoAuthorizer', {
      handler: props.authorizer,
      resultsCacheTtl: ttl,
      identitySources,
    });
    if (identitySources.length === 0) {
      (authorizer.node.defaultChild as apigateway.CfnAuthorizer).addPropertyDeletionOverride(
        'IdentitySource',
      );
    }
    return authorizer;
  }
}
