import { Duration } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { Environment } from '../../functions/domain/token';
import { CONFIG_DEFAULTS, type LatchkeyConfig } from '../config';
import { functions, type RouteScopeMap } from '../declaration';
import { functionEnvironment } from '../function-environment';
import { LATCHKEY_GATEWAY_RESPONSES } from '../gateway-responses';
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
   * `exact`: API Gateway's result cache is off, so every request reaches the authorizer and rate
   * limits and quotas count every request. `cached`: the cache is on (`resultsCacheTtl`); requests
   * it answers are neither counted nor limited, and revocation takes up to the TTL
   * (docs/authorizer.md#caching-limits-and-revocation-delay).
   * @default 'exact'
   */
  readonly limitsEnforcement?: LatchkeyConfig['limitsEnforcement'];
  /**
   * How long API Gateway caches a policy; revocation takes effect within this time. Only with
   * `limitsEnforcement: 'cached'` (anything above 0 with `exact` fails the synth).
   * @default - Duration.seconds(60) with 'cached', none with 'exact'
   */
  readonly resultsCacheTtl?: Duration;
  /**
   * How long each authorizer instance reuses a key item it read: fewer reads, and revocation,
   * limit and scope changes take up to this long (docs/authorizer.md).
   * @default Duration.seconds(0)
   */
  readonly keyCacheTtl?: Duration;
  /**
   * When a source IP that keeps presenting invalid tokens is refused without a read.
   * @default - Latchkey's `sourceIpCoolDown` default (docs/configuration.md)
   */
  readonly sourceIpCoolDown?: LatchkeyConfig['sourceIpCoolDown'];
  /**
   * When a key used from many source IPs raises `ApiKeySuspicious`.
   * @default - Latchkey's `suspiciousSourceIps` default (docs/configuration.md)
   */
  readonly suspiciousSourceIps?: LatchkeyConfig['suspiciousSourceIps'];
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

/**
 * Gives `api` Latchkey's answers for the refusals API Gateway answers itself (`lib/gateway-responses.ts`,
 * docs/authorizer.md): JSON error bodies instead of `{"message": ...}`, and on a 403 the refusal's
 * `reason` and a `Retry-After` header when waiting helps (rate limit, quota, cool-down). Never the
 * reason of any other refusal.
 */
export function addLatchkeyGatewayResponses(api: apigateway.RestApiBase): void {
  for (const r of LATCHKEY_GATEWAY_RESPONSES) {
    api.addGatewayResponse(r.type === 'UNAUTHORIZED' ? 'Unauthorized' : 'AccessDenied', {
      type: apigateway.ResponseType.of(r.type),
      statusCode: String(r.statusCode),
      responseHeaders: Object.fromEntries(
        Object.entries(r.headers).map(([header, key]) => [header, `context.authorizer.${key}`]),
      ),
      templates: { 'application/json': r.template },
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
    const enforcement = props.limitsEnforcement ?? 'exact';
    const ttl = props.resultsCacheTtl ?? Duration.seconds(enforcement === 'cached' ? 60 : 0);
    if (enforcement === 'exact' && ttl.toSeconds() > 0) {
      throw new Error(
        'resultsCacheTtl above 0 lets cached answers bypass rate limits and quotas; ' +
          "set limitsEnforcement: 'cached' to accept that (docs/authorizer.md)",
      );
    }

    this.function = new LatchkeyFunction(this, 'Function', {
      declaration: functions.authorizer,
      logRetention: props.logRetention,
      environment: functionEnvironment(functions.authorizer, {
        tables: tableNames({ keys: props.keysTable, counters: props.countersTable, audit: props.auditTable }),
        settings: {
          routeScopes: props.routeScopes,
          apiEnvironment: props.environment ?? null,
          auditRetentionDays: props.auditRetentionDays ?? CONFIG_DEFAULTS.auditRetentionDays,
          keyCacheSeconds: (props.keyCacheTtl ?? Duration.seconds(0)).toSeconds(),
          sourceIpCoolDown: props.sourceIpCoolDown ?? CONFIG_DEFAULTS.sourceIpCoolDown,
          suspiciousSourceIps: props.suspiciousSourceIps ?? CONFIG_DEFAULTS.suspiciousSourceIps,
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
