/**
 * LatchkeyStack as CloudFormation: every assertion is derived from lib/declaration.ts where it can
 * be, so the tests follow the declaration instead of a second list. The stack is synthesized once,
 * as `npx cdk synth` does it (cdk-nag's plugin registered, so an unacknowledged finding fails the
 * synth), and every test here, cdk-nag's included, reads that one synth: it is the slow part.
 */
import { type CfnElement, Duration, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { ACCESS_GRANTS, TABLE_KEY_ACTIONS } from '../../lib/access-model';
import { CONFIG_DEFAULTS, functionSettings } from '../../lib/config';
import { runtimeEnvironment } from '../../lib/constructs/latchkey-function';
import { PARAMETERS } from '../../lib/consumer-contract';
import {
  type FunctionDeclaration,
  functions,
  indexesOf,
  routeScopeMap,
  routes,
  schedules,
  streamConsumer,
  type TableId,
  tableDeclaration,
  tables,
} from '../../lib/declaration';
import { functionEnvironment, SETTINGS } from '../../lib/function-environment';
import { LatchkeyStack } from '../../lib/latchkey-stack';
import {
  actionsOf,
  allStatements,
  functionId,
  logicalIdOf,
  methodsByRoute,
  refersTo,
  resourcesOf,
  type Statement,
  statementsOf,
  testApp,
} from './helpers';

let template: Template;
let stack: LatchkeyStack;
const id: Record<string, string> = {};
const getAtt = (logicalId: string, attribute = 'Arn') => ({ 'Fn::GetAtt': [logicalId, attribute] });

beforeAll(() => {
  const app = testApp();
  stack = new LatchkeyStack(app, 'LatchkeyStack');
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  app.synth();
  template = Template.fromStack(stack);
  const logicalId = (c: IConstruct) => stack.resolve((c.node.defaultChild as CfnElement).logicalId) as string;
  id.key = logicalId(stack.key);
  for (const t of Object.keys(tables) as TableId[]) id[t] = logicalId(stack.tables.tables[t]);
});

describe('KMS key', () => {
  it('is customer managed, rotated and retained', () => {
    template.hasResource('AWS::KMS::Key', {
      Properties: { EnableKeyRotation: true },
      DeletionPolicy: 'Retain',
    });
  });
});

describe('tables (built from the declaration)', () => {
  it.each(Object.keys(tables) as TableId[])('%s: keys, indexes, on-demand, PITR, the stack key', (t) => {
    const d = tableDeclaration(t);
    const indexes = indexesOf(d);
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: d.partitionKey.name, KeyType: 'HASH' },
        ...(d.sortKey ? [{ AttributeName: d.sortKey.name, KeyType: 'RANGE' }] : []),
      ],
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: getAtt(id.key as string) },
      GlobalSecondaryIndexes: indexes.length
        ? indexes.map((i) =>
            Match.objectLike({
              IndexName: i.name,
              KeySchema: [
                { AttributeName: i.partitionKey.name, KeyType: 'HASH' },
                ...(i.sortKey ? [{ AttributeName: i.sortKey.name, KeyType: 'RANGE' }] : []),
              ],
              Projection: { ProjectionType: 'ALL' },
            }),
          )
        : Match.absent(),
      TimeToLiveSpecification: d.ttlAttribute
        ? { AttributeName: d.ttlAttribute, Enabled: true }
        : Match.absent(),
      StreamSpecification: d.stream ? { StreamViewType: d.stream } : Match.absent(),
    });
  });

  it('keeps the keys, audit and admin tables (deletion protection, RETAIN)', () => {
    for (const t of ['keys', 'audit', 'admin']) {
      expect(resource(id[t])).toMatchObject({
        Properties: { DeletionProtectionEnabled: true },
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
      });
    }
  });

  it('streams the keys table with NEW_AND_OLD_IMAGES and no other', () => {
    expect(resource(id.keys).Properties.StreamSpecification).toEqual({
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    });
    for (const t of ['counters', 'audit', 'admin'])
      expect(resource(id[t]).Properties.StreamSpecification).toBeUndefined();
  });
});

describe('functions', () => {
  const all = Object.values(functions) as FunctionDeclaration[];

  it.each(all.map((f) => [f.name, f] as const))('%s: Node.js 22 on arm64, traced, declared size', (_, fn) => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: `Latchkey ${fn.name} (${fn.entry})`,
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: fn.memoryMb ?? 256,
      Timeout: fn.timeoutSeconds ?? 10,
      TracingConfig: { Mode: 'Active' },
      LoggingConfig: { LogGroup: Match.anyValue() },
      Environment: {
        Variables: Match.objectLike({
          NODE_OPTIONS: '--enable-source-maps',
          // Its declared name: the Powertools service (X-Ray's Service annotation).
          POWERTOOLS_SERVICE_NAME: fn.name,
        }),
      },
    });
  });

  it.each(all.map((f) => [f.name, f] as const))(
    '%s: exactly the variables its access and settings need, with the resources and configured values',
    (_, fn) => {
      const variables = resource(functionId(template, fn)).Properties.Environment.Variables;
      const expected = functionEnvironment(fn, {
        tables: { keys: 'keys', counters: 'counters', audit: 'audit', admin: 'admin', apis: 'apis' },
        kmsKeyId: 'key',
        eventBusName: 'bus',
        settings: functionSettings(CONFIG_DEFAULTS, '000000000000'),
      });
      const runtime = runtimeEnvironment(fn);
      expect(Object.keys(variables).sort()).toEqual(
        [...Object.keys(runtime), ...Object.keys(expected)].sort(),
      );
      for (const [name, value] of Object.entries(runtime)) expect(variables[name]).toBe(value);
      const refs: Record<string, unknown> = {
        [tables.keys.envVar]: { Ref: id.keys },
        [tables.counters.envVar]: { Ref: id.counters },
        [tables.audit.envVar]: { Ref: id.audit },
        [tables.apis.envVar]: { Ref: id.apis },
        [SETTINGS.accountId.name]: { Ref: 'AWS::AccountId' },
        [tables.admin.envVar]: { Ref: id.admin },
        KMS_KEY_ID: getAtt(id.key as string),
        EVENT_BUS_NAME: { Ref: logicalIdOf(template, 'AWS::Events::EventBus', {}) },
        // The hosted console's origin (test/infra/admin-console.test.ts).
        [SETTINGS.consoleOrigin.name]: {
          'Fn::Join': [
            '',
            ['https://', getAtt(logicalIdOf(template, 'AWS::CloudFront::Distribution', {}), 'DomainName')],
          ],
        },
      };
      for (const name of Object.keys(expected)) {
        expect(variables[name]).toEqual(refs[name] ?? expected[name]);
      }
    },
  );

  it('gives the authorizer the route scopes and the demo environment', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: `Latchkey ${functions.authorizer.name} (${functions.authorizer.entry})`,
      Environment: {
        Variables: Match.objectLike({
          [SETTINGS.routeScopes.name]: JSON.stringify(routeScopeMap(routes)),
          [SETTINGS.apiEnvironment.name]: 'development',
        }),
      },
    });
  });

  it('logs to its own log group, kept a year, and may write only there', () => {
    const logGroupId = resource(functionId(template, functions.getKey)).Properties.LoggingConfig.LogGroup.Ref;
    expect(resource(logGroupId)).toMatchObject({
      Properties: { RetentionInDays: 365 },
      DeletionPolicy: 'Retain',
    });
    expect(statementsOf(template, functionId(template, functions.getKey))).toContainEqual({
      Effect: 'Allow',
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource: getAtt(logGroupId),
    });
  });

  it('uses no AWS managed policy (no AWSLambdaBasicExecutionRole)', () => {
    for (const role of Object.values(
      template.findResources('AWS::IAM::Role', {
        Properties: {
          AssumeRolePolicyDocument: {
            Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })],
          },
        },
      }),
    )) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
  });
});

describe('REST API', () => {
  it('serves every declared route with its authorization and a proxy integration', () => {
    const methods = methodsByRoute(template);
    const authorizerId = logicalIdOf(template, 'AWS::ApiGateway::Authorizer', {});
    for (const r of routes) {
      const m = methods.get(`${r.method} ${r.path}`);
      expect(m).toBeDefined();
      expect(m?.Integration).toMatchObject({ Type: 'AWS_PROXY', IntegrationHttpMethod: 'POST' });
      if (r.auth.type === 'iam') {
        expect(m?.AuthorizationType).toBe('AWS_IAM');
        expect(m?.AuthorizerId).toBeUndefined();
      } else {
        expect(m).toMatchObject({ AuthorizationType: 'CUSTOM', AuthorizerId: { Ref: authorizerId } });
      }
    }
    // Nothing undeclared is reachable; the console's CORS preflights (OPTIONS) reach no function
    // (test/infra/admin-console.test.ts).
    expect([...methods.keys()].filter((m) => !m.startsWith('OPTIONS ')).length).toBe(routes.length);
  });

  it('puts AWS_IAM on every /v1 route and the Latchkey authorizer on every /demo route', () => {
    for (const [route, m] of methodsByRoute(template)) {
      if (route.startsWith('OPTIONS ')) continue; // CORS preflights (test/infra/admin-console.test.ts)
      expect(m.AuthorizationType).toBe(route.split(' ')[1]?.startsWith('/v1/') ? 'AWS_IAM' : 'CUSTOM');
    }
  });

  it('has a REQUEST authorizer with API Gateway’s cache off by default, so limits count every request', () => {
    template.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      Type: 'REQUEST',
      AuthorizerResultTtlInSeconds: 0,
      IdentitySource: Match.absent(),
      AuthorizerUri: Match.objectLike({
        'Fn::Join': Match.arrayWith([Match.arrayWith([getAtt(functionId(template, functions.authorizer))])]),
      }),
    });
  });

  it('throttles the stage, traces and logs it without data trace', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      TracingEnabled: true,
      MethodSettings: [
        {
          HttpMethod: '*',
          ResourcePath: '/*',
          ThrottlingRateLimit: 100,
          ThrottlingBurstLimit: 200,
          LoggingLevel: 'INFO',
          MetricsEnabled: true,
          DataTraceEnabled: false,
        },
      ],
    });
  });

  it('writes JSON access logs naming the principal and the key id', () => {
    const accessLogs = Object.keys(template.findResources('AWS::Logs::LogGroup')).find((l) =>
      l.startsWith('ApiAccessLogs'),
    );
    const stage = Object.values(template.findResources('AWS::ApiGateway::Stage'))[0];
    const { DestinationArn, Format } = stage?.Properties.AccessLogSetting ?? {};
    expect(JSON.stringify(DestinationArn)).toContain(JSON.stringify({ Ref: accessLogs }));
    expect(resource(accessLogs).Properties.RetentionInDays).toBe(365);
    expect(JSON.parse(Format)).toMatchObject({
      requestId: '$context.requestId',
      userArn: '$context.identity.userArn',
      keyId: '$context.authorizer.principalId',
      sourceIp: '$context.identity.sourceIp',
      status: '$context.status',
    });
  });

  it.each([
    ['UNAUTHORIZED', '401', 'unauthorized'],
    ['ACCESS_DENIED', '403', 'forbidden'],
  ])('answers %s with the JSON error shape', (type, status, code) => {
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: type,
      StatusCode: status,
      ResponseTemplates: {
        'application/json': Match.serializedJson(
          Match.objectLike({ error: Match.objectLike({ code, message: Match.anyValue() }) }),
        ),
      },
    });
  });

  it('maps a Deny’s context into the 403: the reason when waiting helps, and Retry-After', () => {
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'ACCESS_DENIED',
      ResponseParameters: { 'gatewayresponse.header.Retry-After': 'context.authorizer.retryAfter' },
      ResponseTemplates: {
        'application/json': Match.serializedJson({
          error: {
            code: 'forbidden',
            message: 'Forbidden',
            reason: '$context.authorizer.reason',
            retry_after: '$context.authorizer.retryAfter',
          },
        }),
      },
    });
  });
});

describe('audit stream', () => {
  it('feeds the audit consumer from the keys stream with the declared settings', () => {
    const dlq = dlqOf('AuditStream');
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: functionId(template, streamConsumer.fn) },
      EventSourceArn: getAtt(id.keys as string, 'StreamArn'),
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: streamConsumer.batchSize,
      MaximumBatchingWindowInSeconds: streamConsumer.maxBatchingWindowSeconds,
      MaximumRetryAttempts: streamConsumer.retryAttempts,
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: { OnFailure: { Destination: getAtt(dlq) } },
    });
  });

  it('keeps failures 14 days in an encrypted, TLS-only queue', () => {
    const dlq = dlqOf('AuditStream');
    expect(resource(dlq).Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 1_209_600,
    });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: dlq }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('alarms on the first dead letter and on a consumer more than 5 minutes behind', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: getAtt(dlqOf('AuditStream'), 'QueueName') }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'IteratorAge',
      Statistic: 'Maximum',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionId(template, streamConsumer.fn) } }],
      Threshold: 5 * 60 * 1000,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });
});

describe('schedules', () => {
  it.each(schedules.map((s) => [s.fn.name, s] as const))(
    'runs %s on its rate with retries and a DLQ',
    (_, s) => {
      const fn = functionId(template, s.fn);
      const dlq = dlqOf('Schedules');
      template.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: events.Schedule.rate(Duration.minutes(s.everyMinutes)).expressionString,
        State: 'ENABLED',
        Targets: [
          Match.objectLike({
            Arn: getAtt(fn),
            RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: s.everyMinutes * 60 },
            DeadLetterConfig: { Arn: getAtt(dlq) },
          }),
        ],
      });
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: fn },
        MaximumRetryAttempts: 2,
        DestinationConfig: { OnFailure: { Destination: getAtt(dlq) } },
      });
    },
  );

  it('alarms on a failed scheduled run', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: getAtt(dlqOf('Schedules'), 'QueueName') }],
    });
  });
});

describe('tenancy (docs/tenancy.md)', () => {
  it('denies the MFA routes to callers without MFA, in the REST API resource policy', () => {
    const mfaRoutes = routes.filter((r) => r.mfa);
    expect(mfaRoutes.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /v1/root-mode']);
    template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      Policy: {
        Statement: Match.arrayWith([
          {
            Sid: 'RequireMfa',
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 'execute-api:Invoke',
            Resource: 'execute-api:/*/POST/v1/root-mode',
            // And not a console role (test/infra/admin-console.test.ts).
            Condition: Match.objectLike({ BoolIfExists: { 'aws:MultiFactorAuthPresent': 'false' } }),
          },
        ]),
      },
    });
    // Deny only, apart from the console's CORS preflights (test/infra/admin-console.test.ts): the
    // resource policy never grants what IAM identity policies do not.
    const api = Object.values(template.findResources('AWS::ApiGateway::RestApi'))[0];
    for (const st of api?.Properties.Policy.Statement ?? []) {
      if (st.Sid !== 'CorsPreflight') expect(st.Effect).toBe('Deny');
    }
  });

  it('seeds the admin table on every deploy through a custom resource backed by SeedAdmin', () => {
    const seeder = functionId(template, functions.seedAdmin);
    const [seedId, seedResource] = Object.entries(
      template.findResources('AWS::CloudFormation::CustomResource'),
    )[0] ?? ['', undefined];
    expect(seedResource?.Properties).toEqual({ ServiceToken: getAtt(seeder), SuperAdmins: [] });
    // Invoked only once its role holds its grants.
    expect(JSON.stringify(seedResource?.DependsOn)).toContain(seeder.slice(0, 12));
    expect(seedId).toMatch(/^AdminSeed/);
  });

  it('passes latchkey:superAdmins to the seed, so changing it seeds again', () => {
    const admins = ['arn:aws:iam::123456789012:role/SecurityAdmins'];
    const t = Template.fromStack(
      new LatchkeyStack(
        testApp({ cfnValidation: false, context: { 'latchkey:superAdmins': admins } }),
        'LatchkeyStack',
      ),
    );
    t.hasResourceProperties('AWS::CloudFormation::CustomResource', { SuperAdmins: admins });
    t.hasResourceProperties('AWS::Lambda::Function', {
      Description: `Latchkey ${functions.seedAdmin.name} (${functions.seedAdmin.entry})`,
      Environment: { Variables: Match.objectLike({ [SETTINGS.superAdmins.name]: JSON.stringify(admins) }) },
    });
  });
});

describe('event bus and outputs', () => {
  it('names the bus latchkey (docs/audit-and-events.md)', () => {
    template.hasResourceProperties('AWS::Events::EventBus', { Name: 'latchkey' });
  });

  it.each([
    'ApiUrl',
    'AuthorizerFunctionArn',
    'EventBusArn',
    'KeysTableName',
    'CountersTableName',
    'AuditTableName',
    'ApisTableName',
    'AdminTableName',
  ])('outputs %s', (name) => {
    template.hasOutput(name, { Value: Match.anyValue() });
  });

  it('outputs the real table names', () => {
    template.hasOutput('AuditTableName', { Value: { Ref: id.audit } });
    template.hasOutput('KeysTableName', { Value: { Ref: id.keys } });
    template.hasOutput('AdminTableName', { Value: { Ref: id.admin } });
  });
});

describe('least privilege', () => {
  const EVERY_TABLE_ACTION = [
    'dynamodb:GetItem',
    'dynamodb:Query',
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
    'dynamodb:DeleteItem',
    'dynamodb:ConditionCheckItem',
  ];

  /** DynamoDB actions `fn`'s role holds on table `t` (its ARN or its indexes; not its stream). */
  const tableActions = (fn: FunctionDeclaration, t: TableId): string[] =>
    statementsOf(template, functionId(template, fn))
      .filter((s) => s.Effect === 'Allow' && resourcesOf(s).some((r) => refersTo(r, id[t] as string)))
      .flatMap(actionsOf);

  it('never lets anyone update, delete or batch-write audit items (docs/architecture.md, append-only)', () => {
    const audit = allStatements(template).filter(
      (s) => s.Effect === 'Allow' && resourcesOf(s).some((r) => refersTo(r, id.audit as string)),
    );
    expect(audit.length).toBeGreaterThan(0);
    for (const s of audit) {
      for (const action of actionsOf(s)) expect(['dynamodb:PutItem', 'dynamodb:Query']).toContain(action);
    }
  });

  it('grants DeleteItem only to AdminBindings, only on the admin table (removing a binding)', () => {
    const deleting = allStatements(template).filter(
      (s) => s.Effect === 'Allow' && actionsOf(s).includes('dynamodb:DeleteItem'),
    );
    expect(deleting.length).toBeGreaterThan(0);
    for (const s of deleting) {
      expect(resourcesOf(s).every((r) => refersTo(r, id.admin as string))).toBe(true);
    }
    const holders = all.filter((fn) => tableActions(fn, 'admin').includes('dynamodb:DeleteItem'));
    expect(holders.map((f) => f.name)).toEqual([functions.adminBindings.name]);
  });

  it('grants no BatchWriteItem, Scan or dynamodb:* on any table', () => {
    const actions = allStatements(template).flatMap(actionsOf);
    for (const forbidden of ['dynamodb:BatchWriteItem', 'dynamodb:Scan', 'dynamodb:*', '*']) {
      expect(actions).not.toContain(forbidden);
    }
  });

  it('grants on "*" only actions that have no resource-level permission', () => {
    const onStar = allStatements(template)
      .filter((s) => s.Effect === 'Allow' && resourcesOf(s).includes('*'))
      .flatMap(actionsOf);
    for (const a of onStar)
      expect([
        'xray:PutTraceSegments',
        'xray:PutTelemetryRecords',
        'dynamodb:ListStreams',
        // The console deployment's, which a Deny narrows to its distribution (test/infra/admin-console.test.ts).
        'cloudfront:CreateInvalidation',
        'cloudfront:GetInvalidation',
      ]).toContain(a);
  });

  const all = Object.values(functions) as FunctionDeclaration[];
  it.each(all.map((f) => [f.name, f] as const))('%s: table actions exactly as declared', (_, fn) => {
    for (const t of Object.keys(tables) as TableId[]) {
      const granted = [...new Set(tableActions(fn, t))].sort();
      const expected = [
        ...new Set(
          fn.access.flatMap((a) => {
            const grant = ACCESS_GRANTS[a];
            return grant.service === 'dynamodb' && grant.table === t ? grant.actions : [];
          }),
        ),
      ].sort();
      expect([t, granted]).toEqual([t, expected]);
      for (const action of EVERY_TABLE_ACTION.filter((x) => !expected.includes(x))) {
        expect([t, action, granted.includes(action)]).toEqual([t, action, false]);
      }
    }
  });

  it('lets only listing functions query the keys table and its indexes (never the authorizer)', () => {
    const querying = all
      .filter((fn) => tableActions(fn, 'keys').includes('dynamodb:Query'))
      .map((f) => f.name);
    expect(querying.sort()).toEqual(['ExpiryScanner', 'ExportKeys', 'ListKeys', 'Rotator']);
  });

  it('lets the authorizer only count on the counters table: no read, no query (live state is read by management)', () => {
    expect(tableActions(functions.authorizer, 'counters').sort()).toEqual([
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
    ]);
    const querying = all
      .filter((fn) => tableActions(fn, 'counters').includes('dynamodb:Query'))
      .map((f) => f.name);
    expect(querying.sort()).toEqual([
      'ExportKeys',
      'GetKey',
      'GetKeyUsage',
      'KeyOverview',
      'ListKeys',
      'RevokeKey',
      'RotateKey',
      'SuspicionNotifier',
      'UpdateKey',
    ]);
  });

  it('ListKeys cannot write keys (its one write is a refusal to the append-only audit)', () => {
    const keys = tableActions(functions.listKeys, 'keys');
    expect(keys).not.toContain('dynamodb:PutItem');
    expect(keys).not.toContain('dynamodb:UpdateItem');
    expect(tableActions(functions.listKeys, 'admin').sort()).toEqual(['dynamodb:GetItem', 'dynamodb:Query']);
  });

  it('KeyOverview may Query the counters table and its top_keys index, and only GetItem keys', () => {
    const fn = resource(functionId(template, functions.keyOverview));
    const roleId = fn.Properties.Role['Fn::GetAtt'][0];
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: roleId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Action: 'dynamodb:Query',
            Resource: Match.arrayWith([
              getAtt(id.counters as string),
              { 'Fn::Join': ['', [getAtt(id.counters as string), '/index/top_keys']] },
            ]),
          }),
          Match.objectLike({
            Effect: 'Allow',
            Action: 'dynamodb:GetItem',
            Resource: Match.arrayWith([getAtt(id.keys as string)]),
          }),
        ]),
      },
    });
    expect(tableActions(functions.keyOverview, 'keys')).toEqual(['dynamodb:GetItem']);
    // The export's records carry live use (last use, quota left), as the list's do.
    expect(tableActions(functions.exportKeys, 'counters')).toEqual(['dynamodb:Query']);
    expect(tableActions(functions.exportKeys, 'keys')).toEqual(['dynamodb:Query']);
  });

  /** KMS calls a function may make itself, i.e. not only through DynamoDB. */
  const directKms = (fn: FunctionDeclaration): Statement[] =>
    statementsOf(template, functionId(template, fn)).filter(
      (s) =>
        s.Effect === 'Allow' &&
        actionsOf(s).some((a) => a.startsWith('kms:')) &&
        !JSON.stringify(s.Condition ?? {}).includes('kms:ViaService'),
    );

  it.each(all.filter((f) => f !== streamConsumer.fn).map((f) => [f.name, f] as const))(
    '%s: calls KMS directly only as declared, only with a key_id encryption context',
    (_, fn) => {
      const direct = directKms(fn);
      const actions = direct.flatMap(actionsOf).sort();
      const expected = [
        ...(fn.access.includes('kms:decrypt') ? ['kms:Decrypt'] : []),
        ...(fn.access.includes('kms:encrypt') ? ['kms:Encrypt'] : []),
      ];
      expect(actions).toEqual(expected);
      for (const s of direct) {
        expect(s.Condition).toEqual({
          'ForAnyValue:StringEquals': { 'kms:EncryptionContextKeys': 'key_id' },
        });
        expect(s.Resource).toEqual(getAtt(id.key as string));
      }
    },
  );

  it('denies the audit consumer (which reads the encrypted stream) any metadata decryption', () => {
    expect(statementsOf(template, functionId(template, streamConsumer.fn))).toContainEqual({
      Effect: 'Deny',
      Action: 'kms:Decrypt',
      Resource: getAtt(id.key as string),
      Condition: { 'ForAnyValue:StringEquals': { 'kms:EncryptionContextKeys': 'key_id' } },
    });
  });

  it('scopes secret writes to the latchkey/ prefix', () => {
    const secrets = allStatements(template).filter((s) =>
      actionsOf(s).some((a) => a.startsWith('secretsmanager:')),
    );
    expect(secrets).toHaveLength(1);
    expect(actionsOf(secrets[0] as Statement).sort()).toEqual([
      'secretsmanager:DescribeSecret',
      'secretsmanager:PutSecretValue',
      'secretsmanager:UpdateSecretVersionStage',
    ]);
    expect(JSON.stringify(secrets[0]?.Resource)).toContain(':secret:latchkey/*');
    expect(statementsOf(template, functionId(template, functions.rotator))).toContainEqual(secrets[0]);
  });

  it('lets only functions declaring events:put publish, and only to the bus', () => {
    for (const fn of all) {
      const publish = statementsOf(template, functionId(template, fn)).filter((s) =>
        actionsOf(s).includes('events:PutEvents'),
      );
      expect(publish.length > 0).toBe(fn.access.includes('events:put'));
      for (const s of publish)
        expect(s.Resource).toEqual(getAtt(logicalIdOf(template, 'AWS::Events::EventBus', {})));
    }
  });
});

/**
 * Everything the shared authorizer's code needs is granted by this stack (issue: no kms:Decrypt on
 * the tables' key made every call on AWS fail): the needed actions are derived from the access
 * model, each declared access with its table's key actions, and the synthesized policy must cover
 * them all. Product teams' stacks grant nothing (test/infra/consumer-example.test.ts).
 */
describe('the shared authorizer: every grant its code needs', () => {
  const covers = (fn: FunctionDeclaration, action: string, resource: string, viaDynamoDb: boolean) =>
    statementsOf(template, functionId(template, fn)).some(
      (st) =>
        st.Effect === 'Allow' &&
        actionsOf(st).includes(action) &&
        resourcesOf(st).some((r) => refersTo(r, resource)) &&
        (!viaDynamoDb || JSON.stringify(st.Condition ?? {}).includes('kms:ViaService')),
    );

  it.each([functions.authorizer, functions.verifyKey].map((f) => [f.name, f] as const))(
    "%s: each declared access, and the KMS actions DynamoDB needs for it on the tables' key",
    (_, fn) => {
      const needed: [string, string, boolean][] = fn.access.flatMap((a) => {
        const grant = ACCESS_GRANTS[a];
        if (grant.service !== 'dynamodb') return [];
        const table = id[grant.table] as string;
        const key = id.key as string;
        return [
          ...grant.actions.map((action): [string, string, boolean] => [action, table, false]),
          ...(grant.read ? TABLE_KEY_ACTIONS.read : TABLE_KEY_ACTIONS.write).map(
            (action): [string, string, boolean] => [action, key, true],
          ),
        ];
      });
      expect(needed.map(([action]) => action)).toEqual(
        expect.arrayContaining(['dynamodb:GetItem', 'kms:Decrypt']),
      );
      for (const [action, resource, viaDynamoDb] of needed) {
        expect([action, resource, covers(fn, action, resource, viaDynamoDb)]).toEqual([
          action,
          resource,
          true,
        ]);
      }
    },
  );

  it('may be invoked by API Gateway in this account, from any API (registrations name the accounts)', () => {
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: getAtt(functionId(template, functions.authorizer)),
      Principal: 'apigateway.amazonaws.com',
      SourceAccount: { Ref: 'AWS::AccountId' },
      SourceArn: Match.absent(),
    });
  });

  it('publishes what consumers need as outputs and SSM parameters under /latchkey/', () => {
    const published: Record<keyof typeof PARAMETERS, string> = {
      authorizerFunctionArn: 'AuthorizerFunctionArn',
      apiUrl: 'ApiUrl',
      keysTableArn: 'KeysTableArn',
      countersTableArn: 'CountersTableArn',
      auditTableArn: 'AuditTableArn',
      apisTableArn: 'ApisTableArn',
      kmsKeyArn: 'KmsKeyArn',
      eventBusArn: 'EventBusArn',
    };
    for (const [parameter, output] of Object.entries(published)) {
      const value = template.toJSON().Outputs[output]?.Value;
      expect([output, value]).toEqual([output, expect.anything()]);
      template.hasResourceProperties('AWS::SSM::Parameter', {
        Name: `/latchkey/${PARAMETERS[parameter as keyof typeof PARAMETERS]}`,
        Type: 'String',
        Value: value,
      });
    }
    template.hasOutput('AuthorizerFunctionArn', {
      Value: getAtt(functionId(template, functions.authorizer)),
    });
    template.hasOutput('KmsKeyArn', { Value: getAtt(id.key as string) });
    template.hasOutput('KeysTableArn', { Value: getAtt(id.keys as string) });
  });

  it('sends every alarm to an SNS topic of its own, TLS only', () => {
    const topic = logicalIdOf(template, 'AWS::SNS::Topic', {});
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms.length).toBeGreaterThanOrEqual(5);
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topic }]);
      expect(alarm.Properties.OKActions).toEqual([{ Ref: topic }]);
    }
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    template.hasOutput('AlarmTopicArn', { Value: { Ref: topic } });
  });
});

/** A production configuration: consumers in another account, no demo routes, an existing alarm topic. */
describe('with consumer accounts, demo routes off and an alarm topic of the operators', () => {
  const TOPIC = 'arn:aws:sns:eu-west-1:111111111111:platform-alarms';
  let production: Template;

  beforeAll(() => {
    const context = {
      'latchkey:consumerAccounts': ['222222222222', '333333333333'],
      'latchkey:demoRoutes': false,
      'latchkey:alarmTopicArn': TOPIC,
    };
    production = Template.fromStack(new LatchkeyStack(testApp({ context }), 'Production'));
  });

  it('lets API Gateway in each consumer account invoke the authorizer (cross account), and in its own', () => {
    const authorizer = getAtt(functionId(production, functions.authorizer));
    const invokers = Object.values(production.findResources('AWS::Lambda::Permission')).filter(
      (p) => JSON.stringify(p.Properties.FunctionName) === JSON.stringify(authorizer),
    );
    expect(invokers.map((p) => p.Properties)).toEqual([
      {
        Action: 'lambda:InvokeFunction',
        FunctionName: authorizer,
        Principal: 'apigateway.amazonaws.com',
        SourceAccount: { Ref: 'AWS::AccountId' },
      },
      {
        Action: 'lambda:InvokeFunction',
        FunctionName: authorizer,
        Principal: 'apigateway.amazonaws.com',
        SourceAccount: '222222222222',
      },
      {
        Action: 'lambda:InvokeFunction',
        FunctionName: authorizer,
        Principal: 'apigateway.amazonaws.com',
        SourceAccount: '333333333333',
      },
    ]);
  });

  it('admits those accounts’ principals to POST /v1/keys/verify, and to no other route', () => {
    const [api] = Object.values(production.findResources('AWS::ApiGateway::RestApi'));
    const statements = (api?.Properties.Policy.Statement ?? []) as { Effect: string }[];
    // The console's CORS preflights aside (test/infra/admin-console.test.ts).
    const allows = statements.filter(
      (st) => st.Effect === 'Allow' && (st as { Sid?: string }).Sid !== 'CorsPreflight',
    );
    expect(allows).toEqual([
      {
        Sid: 'ConsumerAccountsVerify',
        Effect: 'Allow',
        Action: 'execute-api:Invoke',
        Principal: {
          AWS: [
            { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::222222222222:root']] },
            { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::333333333333:root']] },
          ],
        },
        Resource: 'execute-api:/*/POST/v1/keys/verify',
      },
    ]);
  });

  it('keeps the MFA denial of the root-mode route next to it', () => {
    production.hasResourceProperties('AWS::ApiGateway::RestApi', {
      Policy: {
        Statement: Match.arrayWith([Match.objectLike({ Sid: 'RequireMfa', Effect: 'Deny' })]),
      },
    });
  });

  it('serves no demo route: no Demo function, no authorizer on its own API, an empty built-in route map', () => {
    expect([...methodsByRoute(production).keys()].filter((r) => !r.includes(' /v1/'))).toEqual([]);
    expect(production.findResources('AWS::ApiGateway::Authorizer')).toEqual({});
    expect(() => functionId(production, functions.demo)).toThrow();
    production.hasResourceProperties('AWS::Lambda::Function', {
      Description: `Latchkey ${functions.authorizer.name} (${functions.authorizer.entry})`,
      Environment: { Variables: Match.objectLike({ [SETTINGS.routeScopes.name]: '{}' }) },
    });
  });

  it('sends every alarm to the given topic and creates none', () => {
    expect(production.findResources('AWS::SNS::Topic')).toEqual({});
    for (const alarm of Object.values(production.findResources('AWS::CloudWatch::Alarm'))) {
      expect(alarm.Properties.AlarmActions).toEqual([TOPIC]);
    }
  });
});

/**
 * cdk-nag (v3: a policy-validation plugin, so findings are read from its report, not from
 * Annotations): the AwsSolutions pack finds nothing unacknowledged, errors or warnings, and every
 * acknowledgment says why.
 */
describe('cdk-nag AwsSolutions', () => {
  it('has no unacknowledged finding, error or warning', () => {
    const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(stack);
    const findings = report.violations.map((v) => ({
      rule: v.ruleName,
      severity: v.severity,
      at: v.violatingResources.map((r) => r.constructPath),
    }));
    expect(findings).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('gives every acknowledgment a reason a reviewer can check', () => {
    const acknowledged = stack.node
      .findAll()
      .flatMap((c) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY))
      .flatMap((m) => Object.entries(m.data as Record<string, string>));
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const [rule, reason] of acknowledged) {
      expect([rule, reason.length >= 80]).toEqual([rule, true]);
    }
  });
});

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON
const resource = (logicalId: string | undefined): any => template.toJSON().Resources[logicalId as string];

/** The dead-letter queue under the construct `scope` (AuditStream or Schedules). */
function dlqOf(scope: string): string {
  const ids = Object.keys(template.findResources('AWS::SQS::Queue')).filter((q) =>
    q.startsWith(`${scope}DeadLetters`),
  );
  if (ids.length !== 1) throw new Error(`Expected one DLQ under ${scope}, found ${ids.join(', ')}`);
  return ids[0] as string;
}
