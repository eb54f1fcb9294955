// examples/consumer/lib/orders-stack.ts
import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { LatchkeyHttpApiAuthorizer, LatchkeyRestApiAuthorizer } from 'latchkey/constructs';

export interface OrdersStackProps extends StackProps {
  /**
   * The shared Latchkey authorizer (Latchkey's stack output AuthorizerFunctionArn). Leave it out
   * when Latchkey runs in this account: it is then read from Latchkey's SSM parameter.
   */
  readonly latchkeyAuthorizerArn?: string;
}

/** The orders service: the same routes on a REST API and an HTTP API, every one behind Latchkey. */
export class OrdersStack extends Stack {
  constructor(scope: Construct, id: string, props: OrdersStackProps = {}) {
    super(scope, id, props);
    const orders = new lambda.Function(this, 'Orders', {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => ({ statusCode: 200, body: "[]" });'),
    });

    // REST API: callers send `Authorization: Bearer <key>`; no authorizer cache (the default), so
    // limits are exact and a revocation applies at once. The route → scope map is in the
    // registration `orders` (registration.json, PUT /v1/apis/orders), not here.
    const rest = new apigateway.RestApi(this, 'OrdersRestApi');
    const restLatchkey = new LatchkeyRestApiAuthorizer(this, 'RestLatchkey', {
      restApi: rest,
      api: 'orders',
      authorizerFunctionArn: props.latchkeyAuthorizerArn,
    });
    const list = rest.root.addResource('orders');
    restLatchkey.protect(list, 'GET', new apigateway.LambdaIntegration(orders));
    restLatchkey.protect(list, 'POST', new apigateway.LambdaIntegration(orders));
    restLatchkey.protect(list.addResource('{id}'), 'GET', new apigateway.LambdaIntegration(orders));

    // HTTP API: callers send `X-API-Key: <key>`; answers are cached 5 minutes, so a revocation takes
    // up to 5 minutes here and cached calls are not counted against rate limits or quotas.
    const http = new apigwv2.HttpApi(this, 'OrdersHttpApi');
    const httpLatchkey = new LatchkeyHttpApiAuthorizer(this, 'HttpLatchkey', {
      httpApi: http,
      api: 'orders',
      tokenHeader: 'x-api-key',
      limitsEnforcement: 'cached',
      cacheTtl: Duration.minutes(5),
      authorizerFunctionArn: props.latchkeyAuthorizerArn,
    });
    const integration = new HttpLambdaIntegration('Orders', orders);
    const authorizer = httpLatchkey.authorizer;
    http.addRoutes({
      path: '/orders',
      methods: [apigwv2.HttpMethod.GET, apigwv2.HttpMethod.POST],
      integration,
      authorizer,
    });
    http.addRoutes({ path: '/orders/{id}', methods: [apigwv2.HttpMethod.GET], integration, authorizer });
  }
}
