/**
 * The consumer constructs (`lib/constructs/protected-api.ts`) on their own: the options the packed
 * example does not exercise (no cache, a parameter prefix, an ARN in the stack's own account) and
 * the misconfigurations they refuse at synth. The example itself is `consumer-example.test.ts`.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import {
  LatchkeyHttpApiAuthorizer,
  type LatchkeyHttpApiAuthorizerProps,
  LatchkeyRestApiAuthorizer,
  type LatchkeyRestApiAuthorizerProps,
} from '../../lib/constructs';
import { testApp } from './helpers';

const SAME_ACCOUNT_ARN = 'arn:aws:lambda:eu-west-1:111111111111:function:LatchkeyStack-Authorizer';

function restStack(props: Partial<LatchkeyRestApiAuthorizerProps> = {}) {
  const stack = new Stack(testApp(), 'Rest', { env: { account: '111111111111', region: 'eu-west-1' } });
  const restApi = new apigateway.RestApi(stack, 'Api');
  const latchkey = new LatchkeyRestApiAuthorizer(stack, 'Latchkey', { restApi, api: 'orders', ...props });
  latchkey.protect(restApi.root.addResource('orders'), 'GET', new apigateway.MockIntegration());
  return Template.fromStack(stack);
}

function httpStack(props: Partial<LatchkeyHttpApiAuthorizerProps> = {}) {
  const stack = new Stack(testApp(), 'Http', { env: { account: '111111111111', region: 'eu-west-1' } });
  const httpApi = new apigwv2.HttpApi(stack, 'Api');
  new LatchkeyHttpApiAuthorizer(stack, 'Latchkey', { httpApi, api: 'orders', ...props });
  return Template.fromStack(stack);
}

describe('by default, no cache (exact limits, revocation at once)', () => {
  it('REST: no identity source, so every request reaches the authorizer (and its refusals are audited)', () => {
    restStack().hasResourceProperties('AWS::ApiGateway::Authorizer', {
      AuthorizerResultTtlInSeconds: 0,
      IdentitySource: Match.absent(),
    });
  });

  it('HTTP API: the same', () => {
    httpStack().hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerResultTtlInSeconds: 0,
      IdentitySource: Match.absent(),
    });
  });
});

describe('cached when limits may be approximate', () => {
  it('REST: 60 s by default, keyed on the token header, the source IP and the route', () => {
    restStack({ limitsEnforcement: 'cached' }).hasResourceProperties('AWS::ApiGateway::Authorizer', {
      AuthorizerResultTtlInSeconds: 60,
      IdentitySource:
        'method.request.header.Authorization,context.identity.sourceIp,context.httpMethod,context.resourcePath',
    });
  });

  it('HTTP API: keyed on the token header, the source IP and the route key', () => {
    httpStack({ limitsEnforcement: 'cached', cacheTtl: Duration.seconds(120) }).hasResourceProperties(
      'AWS::ApiGatewayV2::Authorizer',
      {
        AuthorizerResultTtlInSeconds: 120,
        IdentitySource: ['$request.header.Authorization', '$context.identity.sourceIp', '$context.routeKey'],
      },
    );
  });
});

it('keys the REST cache on X-API-Key when that is the token header, and tells the authorizer so', () => {
  const t = restStack({ tokenHeader: 'x-api-key', limitsEnforcement: 'cached' });
  t.hasResourceProperties('AWS::ApiGateway::Authorizer', {
    IdentitySource:
      'method.request.header.X-API-Key,context.identity.sourceIp,context.httpMethod,context.resourcePath',
  });
  t.hasResourceProperties('AWS::ApiGateway::Stage', {
    Variables: { latchkeyApi: 'orders', latchkeyTokenHeader: 'x-api-key' },
  });
});

it('reads the ARN under another parameter prefix when told', () => {
  const parameters = restStack({ parameterPrefix: '/platform/latchkey/' }).toJSON().Parameters;
  expect(Object.values(parameters).map((p) => (p as { Default?: string }).Default)).toContain(
    '/platform/latchkey/authorizer-function-arn',
  );
});

it('never adds a permission to the shared function, even given an ARN in its own account', () => {
  for (const t of [
    restStack({ authorizerFunctionArn: SAME_ACCOUNT_ARN }),
    httpStack({ authorizerFunctionArn: SAME_ACCOUNT_ARN }),
  ]) {
    expect(
      Object.values(t.findResources('AWS::Lambda::Permission')).filter((p) =>
        JSON.stringify(p.Properties.FunctionName).includes('LatchkeyStack-Authorizer'),
      ),
    ).toEqual([]);
  }
});

it('can leave the REST API’s gateway responses alone', () => {
  expect(restStack({ gatewayResponses: false }).findResources('AWS::ApiGateway::GatewayResponse')).toEqual(
    {},
  );
});

describe('refuses at synth', () => {
  it.each([
    ['an api that is not a registration name', { api: 'Orders API' }, 'api must be'],
    ['an unknown token header', { tokenHeader: 'cookie' as never }, 'tokenHeader must be'],
    [
      'a cache longer than API Gateway allows',
      { limitsEnforcement: 'cached' as const, cacheTtl: Duration.hours(2) },
      'cacheTtl must be',
    ],
    [
      'a cache with exact limits, which cached answers would bypass',
      { cacheTtl: Duration.seconds(30) },
      "set limitsEnforcement: 'cached'",
    ],
  ])('%s', (_what, props, message) => {
    expect(() => restStack(props)).toThrow(message);
    expect(() => httpStack(props)).toThrow(message);
  });
});
