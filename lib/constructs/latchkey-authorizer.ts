import { Duration } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { Environment } from '../../functions/domain/token';
import { CONFIG_DEFAULTS } from '../config';
import { functions, type RouteScopeMap } from '../declaration';
import { functionEnvironment } from '../function-environment';
import { grantAccess } from './access';
import { LatchkeyFunction } from './latchkey-function';
import { tableNames } from './tables';

export interface LatchkeyAuthorizerProps {
  /**
   * Latchkey's keys table (one GetItem per authorization). From another stack or account import it
   * with `Table.fromTableAttributes({ tableArn, encryptionKey })` so the grant includes the table
   * key; across accounts the table and key also need resource policies admitting this function's role.
   */
  readonly keysTable: dynamodb.ITable;
  /** Latchkey's counters table: per-minute use counts and the `used` markers (docs/audit-and-events.md). */
  readonly countersTable: dynamodb.ITable;
  /** Latchkey's audit table: every refusal, and each key's use once a minute (docs/audit-and-events.md). */
  readonly auditTable: dynamodb.ITable;
  /**
   * The protected API's routes and the scope each needs: `{ "GET /agents": "agents:read" }`, with
   * API Gateway resource paths (`{param}` for path parameters). A route not in the map is denied.
   */
  readonly routeScopes: RouteScopeMap;
  /**
   * The environment of the protected API's stage: only keys of this environment are admitted.
   * @default - keys of any environment
   */
  readonly environment?: Environment;
  /**
   * How long API Gateway caches a policy; revocation takes effect within this time (docs/authorizer.md).
   * @default Duration.seconds(60)
   */
  readonly resultsCacheTtl?: Duration;
  /**
   * Request parameters that key the policy cache, e.g. `method.request.header.Authorization`.
   * API Gateway answers 401 without calling the authorizer when one of them is missing, so with
   * caching on, callers must send `Authorization: Bearer <key>` (`X-API-Key` works with a TTL of 0).
   * @default - with caching: the Authorization header, the source IP (a cached policy never serves
   *   another IP, so IP allowlists hold), and the route (`httpMethod` + `resourcePath`: a policy is
   *   only reused for the route it was decided for, so a `{param}` wildcard, which in execute-api
   *   ARNs also matches across `/`, can never stretch to a deeper route needing another scope, and a
   *   denied route never locks the key out of the others); with TTL 0: none
   */
  readonly identitySources?: string[];
  /**
   * Days after which the audit entries this authorizer writes expire.
   * @default - Latchkey's `auditRetentionDays` default (docs/configuration.md)
   */
  readonly auditRetentionDays?: number;
  /**
   * Retention of the authorizer's log group.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
}

// Concrete methods only: the authorizer sees the request's real verb, so an `ANY` route could never match.
const ROUTE_KEY = /^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) \/\S*$/;

/** JSON error bodies for the refusals API Gateway answers itself (docs/authorizer.md); never a reason. */
const GATEWAY_ERROR_RESPONSES: ReadonlyArray<{
  id: string;
  type: apigateway.ResponseType;
  statusCode: string;
  code: string;
  message: string;
}> = [
  {
    id: 'Unauthorized',
    type: apigateway.ResponseType.UNAUTHORIZED,
    statusCode: '401',
    code: 'unauthorized',
    message: 'Unauthorized',
  },
  {
    id: 'AccessDenied',
    type: apigateway.ResponseType.ACCESS_DENIED,
    statusCode: '403',
    code: 'forbidden',
    message: 'Forbidden',
  },
];

/** Gives `api` the JSON bodies above instead of API Gateway's `{"message": ...}`. */
export function addLatchkeyGatewayResponses(api: apigateway.RestApiBase): void {
  for (const r of GATEWAY_ERROR_RESPONSES) {
    api.addGatewayResponse(r.id, {
      type: r.type,
      statusCode: r.statusCode,
      templates: { 'application/json': JSON.stringify({ error: { code: r.code, message: r.message } }) },
    });
  }
}

/**
 * The Latchkey Lambda authorizer (REQUEST type) for one REST API: another stack, or another
 * account, puts it in front of its own `RestApi` and says which scope each route needs.
 *
 * ```ts
 * const auth = new LatchkeyAuthorizer(this, 'Keys', { keysTable, countersTable, auditTable,
 *   routeScopes: { 'GET /orders': 'orders:read' } });
 * auth.protect(api.root.addResource('orders'), 'GET', new LambdaIntegration(fn));
 * ```
 */
export class LatchkeyAuthorizer extends Construct {
  /** Pass to `addMethod` with `AuthorizationType.CUSTOM`, or use `protect`. */
  readonly authorizer: apigateway.RequestAuthorizer;
  readonly function: LatchkeyFunction;
  readonly routeScopes: RouteScopeMap;

  constructor(scope: Construct, id: string, props: LatchkeyAuthorizerProps) {
    super(scope, id);
    const bad = Object.entries(props.routeScopes).filter(([route, s]) => !ROUTE_KEY.test(route) || !s);
    if (bad.length > 0) {
      throw new Error(
        `routeScopes needs "METHOD /path": "scope" entries; bad: ${bad.map(([r]) => r).join(', ')}`,
      );
    }
    this.routeScopes = props.routeScopes;
    const ttl = props.resultsCacheTtl ?? Duration.seconds(60);

    this.function = new LatchkeyFunction(this, 'Function', {
      declaration: functions.authorizer,
      logRetention: props.logRetention,
      environment: functionEnvironment(functions.authorizer, {
        tables: tableNames({ keys: props.keysTable, counters: props.countersTable, audit: props.auditTable }),
        settings: {
          routeScopes: props.routeScopes,
          apiEnvironment: props.environment ?? null,
          auditRetentionDays: props.auditRetentionDays ?? CONFIG_DEFAULTS.auditRetentionDays,
        },
      }),
    });
    grantAccess(this.function.function, functions.authorizer.access, {
      tables: { keys: props.keysTable, counters: props.countersTable, audit: props.auditTable },
    });

    const identitySources =
      props.identitySources ??
      (ttl.toSeconds() > 0
        ? [
            apigateway.IdentitySource.header('Authorization'),
            apigateway.IdentitySource.context('identity.sourceIp'),
            apigateway.IdentitySource.context('httpMethod'),
            apigateway.IdentitySource.context('resourcePath'),
          ]
        : []);
    this.authorizer = new apigateway.RequestAuthorizer(this, 'Authorizer', {
      handler: this.function.function,
      resultsCacheTtl: ttl,
      identitySources,
    });
    if (identitySources.length === 0) {
      // Omitted rather than "": without caching, API Gateway then calls the authorizer for every request.
      (this.authorizer.node.defaultChild as apigateway.CfnAuthorizer).addPropertyDeletionOverride(
        'IdentitySource',
      );
    }
  }

  /**
   * Adds `httpMethod` on `resource` behind this authorizer. Fails the synth when the route is not in
   * `routeScopes` (such a route could only ever be denied).
   */
  protect(
    resource: apigateway.IResource,
    httpMethod: string,
    integration: apigateway.Integration,
    options: apigateway.MethodOptions = {},
  ): apigateway.Method {
    const route = `${httpMethod} ${resource.path}`;
    if (!(route in this.routeScopes)) {
      throw new Error(`${route} is not in the LatchkeyAuthorizer's routeScopes; add the scope it needs`);
    }
    return resource.addMethod(httpMethod, integration, {
      ...options,
      authorizer: this.authorizer,
      authorizationType: apigateway.AuthorizationType.CUSTOM,
    });
  }
}
