/**
 * The reusable authorizer protecting someone else's API: a separate stack (as in another account)
 * with its own RestApi and route map, importing Latchkey's tables by ARN.
 */
import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { LatchkeyAuthorizer, type LatchkeyAuthorizerProps } from '../../lib/constructs/latchkey-authorizer';
import { functions, type RouteScopeMap, tables } from '../../lib/declaration';
import { SETTINGS } from '../../lib/function-environment';
import { actionsOf, functionId, logicalIdOf, methodsByRoute, statementsOf, testApp } from './helpers';

const LATCHKEY = 'arn:aws:dynamodb:eu-west-1:111111111111:table';
const KEY_ARN = 'arn:aws:kms:eu-west-1:111111111111:key/0b1c2d3e-0000-4000-8000-000000000000';
const ORDERS_SCOPES: RouteScopeMap = {
  'GET /orders': 'orders:read',
  'POST /orders': 'orders:write',
  'POST /orders/{id}/refund': 'orders:execute',
};

interface ProtectedApiStackProps extends StackProps {
  readonly authorizer?: Partial<LatchkeyAuthorizerProps>;
}

/** An API owner's stack: Latchkey's tables come by ARN, the key by ARN, the API and routes are its own. */
class ProtectedApiStack extends Stack {
  readonly latchkey: LatchkeyAuthorizer;
  readonly api: apigateway.RestApi;

  constructor(scope: Construct, id: string, props: ProtectedApiStackProps = {}) {
    super(scope, id, { env: { account: '222222222222', region: 'eu-west-1' }, ...props });
    const encryptionKey = kms.Key.fromKeyArn(this, 'LatchkeyKey', KEY_ARN);
    const table = (name: string) =>
      dynamodb.Table.fromTableAttributes(this, name, { tableArn: `${LATCHKEY}/${name}`, encryptionKey });
    this.latchkey = new LatchkeyAuthorizer(this, 'Latchkey', {
      keysTable: table('latchkey-keys'),
      countersTable: table('latchkey-counters'),
      auditTable: table('latchkey-audit'),
      routeScopes: ORDERS_SCOPES,
      environment: 'production',
      ...props.authorizer,
    });
    this.api = new apigateway.RestApi(this, 'OrdersApi');
    const handler = new lambda.Function(this, 'Orders', {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => ({ statusCode: 200, body: "[]" });'),
    });
    const integration = new apigateway.LambdaIntegration(handler);
    const orders = this.api.root.addResource('orders');
    this.latchkey.protect(orders, 'GET', integration);
    this.latchkey.protect(orders, 'POST', integration);
    this.latchkey.protect(orders.addResource('{id}').addResource('refund'), 'POST', integration);
  }
}

describe('protecting another stack’s RestApi', () => {
  let template: Template;

  beforeAll(() => {
    template = Template.fromStack(new ProtectedApiStack(testApp(), 'OrdersStack'));
  });

  it('adds a REQUEST authorizer to that API with the cache off (exact limits, the default)', () => {
    template.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      RestApiId: { Ref: logicalIdOf(template, 'AWS::ApiGateway::RestApi', {}) },
      Type: 'REQUEST',
      AuthorizerResultTtlInSeconds: 0,
      IdentitySource: Match.absent(),
    });
  });

  it('puts every route of that API behind it (CUSTOM)', () => {
    const authorizer = logicalIdOf(template, 'AWS::ApiGateway::Authorizer', {});
    const methods = methodsByRoute(template);
    expect([...methods.keys()].sort()).toEqual(Object.keys(ORDERS_SCOPES).sort());
    for (const m of methods.values()) {
      expect(m).toMatchObject({ AuthorizationType: 'CUSTOM', AuthorizerId: { Ref: authorizer } });
    }
  });

  it('tells the function that API’s own route scopes, environment and Latchkey’s table names', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Environment: {
        Variables: Match.objectLike({
          [SETTINGS.routeScopes.name]: JSON.stringify(ORDERS_SCOPES),
          [SETTINGS.apiEnvironment.name]: 'production',
          [tables.keys.envVar]: 'latchkey-keys',
          [tables.counters.envVar]: 'latchkey-counters',
          [tables.audit.envVar]: 'latchkey-audit',
          [SETTINGS.keyCacheSeconds.name]: '0',
          [SETTINGS.sourceIpCoolDown.name]: '20,60,300',
          [SETTINGS.suspiciousSourceIps.name]: '20,60',
        }),
      },
    });
  });

  it('grants the declared authorizer access on the imported tables and key, nothing more', () => {
    const statements = statementsOf(template, functionId(template, functions.authorizer));
    const on = (resource: string) =>
      statements.filter((s) => JSON.stringify(s.Resource).includes(resource)).flatMap(actionsOf);
    expect(on(`${LATCHKEY}/latchkey-keys`).sort()).toEqual(['dynamodb:GetItem']);
    expect(on(`${LATCHKEY}/latchkey-counters"`).sort()).toEqual(['dynamodb:PutItem', 'dynamodb:UpdateItem']);
    expect(on(`${LATCHKEY}/latchkey-audit"`)).toEqual(['dynamodb:PutItem']);
    expect(statements).toContainEqual(
      expect.objectContaining({
        Resource: KEY_ARN,
        Condition: { StringEquals: { 'kms:ViaService': 'dynamodb.eu-west-1.amazonaws.com' } },
      }),
    );
  });

  it('lets only that API’s authorizer invoke the function', () => {
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: Match.objectLike({ 'Fn::GetAtt': [functionId(template, functions.authorizer), 'Arn'] }),
      Principal: 'apigateway.amazonaws.com',
      SourceArn: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith(['/authorizers/'])]) }),
    });
  });
});

describe('without caching', () => {
  it('has no identity source, so Authorization: Bearer and X-API-Key both reach the authorizer', () => {
    const template = Template.fromStack(
      new ProtectedApiStack(testApp(), 'Uncached', { authorizer: { resultsCacheTtl: Duration.seconds(0) } }),
    );
    template.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      Type: 'REQUEST',
      AuthorizerResultTtlInSeconds: 0,
      IdentitySource: Match.absent(),
    });
  });
});

describe('limits and the cache: a choice, with a safe default', () => {
  it('caches 60 s per Authorization header, source IP and route when limits may be approximate', () => {
    const template = Template.fromStack(
      new ProtectedApiStack(testApp(), 'Cached', { authorizer: { limitsEnforcement: 'cached' } }),
    );
    template.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      AuthorizerResultTtlInSeconds: 60,
      IdentitySource:
        'method.request.header.Authorization,context.identity.sourceIp,context.httpMethod,context.resourcePath',
    });
  });

  it('refuses a cache TTL with exact limits, which cached answers would bypass', () => {
    expect(
      () =>
        new ProtectedApiStack(testApp(), 'Leaky', { authorizer: { resultsCacheTtl: Duration.seconds(30) } }),
    ).toThrow("set limitsEnforcement: 'cached'");
  });

  it('tells each authorizer instance how long it may reuse a key item it read', () => {
    const template = Template.fromStack(
      new ProtectedApiStack(testApp(), 'KeyCache', { authorizer: { keyCacheTtl: Duration.seconds(5) } }),
    );
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ [SETTINGS.keyCacheSeconds.name]: '5' }) },
    });
  });
});

describe('misconfiguration fails the synth', () => {
  it('refuses a protected route missing from routeScopes', () => {
    const { latchkey, api } = new ProtectedApiStack(testApp(), 'Missing');
    expect(() =>
      latchkey.protect(api.root.addResource('admin'), 'DELETE', new apigateway.MockIntegration()),
    ).toThrow('DELETE /admin is not in the LatchkeyAuthorizer');
  });

  it('refuses route keys that are not "METHOD /path"', () => {
    expect(
      () =>
        new ProtectedApiStack(testApp(), 'Bad', {
          authorizer: { routeScopes: { '/orders': 'orders:read' } },
        }),
    ).toThrow('bad: /orders');
  });

  it('refuses ANY routes, which the authorizer (seeing the real verb) could never allow', () => {
    expect(
      () =>
        new ProtectedApiStack(testApp(), 'Any', {
          authorizer: { routeScopes: { 'ANY /orders': 'orders:read' } },
        }),
    ).toThrow('bad: ANY /orders');
  });
});
