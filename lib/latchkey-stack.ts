import {
  Annotations,
  CfnCustomResource,
  CfnOutput,
  Duration,
  Lazy,
  RemovalPolicy,
  Stack,
  type StackProps,
  Validations,
} from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import type { Construct } from 'constructs';
import { functionSettings, type LatchkeyConfig, readConfig } from './config';
import { grantAccess } from './constructs/access';
import { AdminConsole, CONSOLE_GROUPS, consoleRoleArnPattern } from './constructs/admin-console';
import { AuditStream } from './constructs/audit-stream';
import { LatchkeyFunction } from './constructs/latchkey-function';
import { ManagementApi } from './constructs/management-api';
import { OperationsDashboard } from './constructs/operations-dashboard';
import { Schedules } from './constructs/schedules';
import { LatchkeyTables } from './constructs/tables';
import { PARAMETERS } from './consumer-contract';
import {
  type FunctionDeclaration,
  functions,
  routeFunctions,
  schedules,
  seed,
  servedRoutes,
  streamConsumer,
} from './declaration';
import { type EnvironmentSources, functionEnvironment } from './function-environment';

export interface LatchkeyStackProps extends StackProps {
  /**
   * Deploy-time parameters.
   * @default readConfig(this): the `latchkey:*` context keys, with CONFIG_DEFAULTS for absent ones
   */
  readonly config?: LatchkeyConfig;
}

/**
 * Latchkey on AWS (docs/architecture.md), derived from `lib/declaration.ts`: tables, the REST API with one
 * function per operation, the shared authorizer, the audit stream consumer and the scheduled
 * lifecycle functions, each function holding exactly its declared access; plus what product teams
 * need to attach the authorizer from their own stacks and accounts (invoke permissions, stack
 * outputs and SSM parameters; docs/protecting-apis.md).
 */
export class LatchkeyStack extends Stack {
  readonly config: LatchkeyConfig;
  readonly key: kms.Key;
  readonly tables: LatchkeyTables;
  readonly eventBus: events.EventBus;
  /**
   * The one shared Latchkey authorizer (docs/protecting-apis.md): the demo routes use it, and product
   * teams attach it by ARN to their own REST and HTTP APIs.
   */
  readonly authorizer: LatchkeyFunction;
  /** Where every alarm notifies: created here, or the topic named by `latchkey:alarmTopicArn`. */
  readonly alarmTopic: sns.ITopic;
  readonly api: ManagementApi;
  readonly auditStream: AuditStream;
  readonly schedules: Schedules;
  /** The CloudWatch dashboard and the authorizer's alarms (docs/operations.md). */
  readonly operations: OperationsDashboard;
  /** Every function, by declared name. */
  readonly functions: ReadonlyMap<string, LatchkeyFunction>;
  /** Runs the admin seed (`lib/declaration.ts` `seed`) on every deploy. */
  readonly adminSeed: CfnCustomResource;
  /** The hosted admin console and its sign-in (docs/console-on-aws.md); absent with `latchkey:console: false`. */
  readonly adminConsole?: AdminConsole;

  constructor(scope: Construct, id: string, props: LatchkeyStackProps = {}) {
    super(scope, id, { description: 'Latchkey: API keys for AWS-hosted APIs', ...props });
    const config = props.config ?? readConfig(this);
    this.config = config;
    const logRetention = config.logRetentionDays as RetentionDays;

    this.key = new kms.Key(this, 'Key', {
      description: 'Latchkey: encrypts the tables and key metadata',
      enableKeyRotation: true,
      // Without the key, the retained tables and every metadata ciphertext are unreadable.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.tables = new LatchkeyTables(this, 'Tables', { encryptionKey: this.key });
    // The one fixed physical name: docs/audit-and-events.md names the bus `latchkey` so subscribers can find it
    // (latchkey:eventBusName overrides it for a second stack in the same account and region).
    this.eventBus = new events.EventBus(this, 'EventBus', { eventBusName: config.eventBusName });

    // The console's origin is its distribution's domain, which exists only after the API (its CSP
    // names the API) and the API after the functions: a lazy value, resolved at synth.
    let adminConsole: AdminConsole | undefined;
    const consoleOrigin = config.console
      ? Lazy.string({
          produce: () => {
            if (!adminConsole) throw new Error('The admin console was not built');
            return adminConsole.origin;
          },
        })
      : null;
    // Each function gets only the variables its declaration needs (lib/function-environment.ts).
    const sources: EnvironmentSources = {
      tables: this.tables.names,
      kmsKeyId: this.key.keyArn,
      eventBusName: this.eventBus.eventBusName,
      settings: functionSettings(config, this.account, consoleOrigin),
    };
    const resources = { tables: this.tables.tables, metadataKey: this.key, eventBus: this.eventBus };
    const built = new Map<string, LatchkeyFunction>();
    const fn = (declaration: FunctionDeclaration): LatchkeyFunction => {
      const existing = built.get(declaration.name);
      if (existing) return existing;
      const created = new LatchkeyFunction(this, declaration.name, {
        declaration,
        environment: functionEnvironment(declaration, sources),
        logRetention,
      });
      grantAccess(created.function, declaration.access, resources);
      built.set(declaration.name, created);
      return created;
    };

    this.authorizer = fn(functions.authorizer);
    // API Gateway in Latchkey's own account and in each consumer account may invoke it, from any
    // API there: which registration an API may use is the registration's own list of accounts.
    const invokers = [this.account, ...config.consumerAccounts];
    invokers.forEach((account, i) => {
      this.authorizer.function.addPermission(
        i === 0 ? 'InvokeFromApiGateway' : `InvokeFromApiGateway${account}`,
        {
          principal: new iam.ServicePrincipal('apigateway.amazonaws.com'),
          action: 'lambda:InvokeFunction',
          sourceAccount: account,
        },
      );
    });

    const routes = servedRoutes(config);
    this.api = new ManagementApi(this, 'Api', {
      routes,
      handlers: Object.fromEntries(routeFunctions(routes).map((d) => [d.name, fn(d).function])),
      authorizer: this.authorizer.function,
      authorizerCacheTtl: Duration.seconds(config.authorizerCacheTtlSeconds),
      verifyAccounts: config.consumerAccounts,
      throttle: config.throttle,
      accessLogRetention: logRetention,
      cloudWatchRole: config.apiGatewayCloudWatchRole,
      ...(config.webAclArn ? { webAclArn: config.webAclArn } : {}),
      ...(consoleOrigin
        ? { corsOrigin: consoleOrigin, mfaExemptPrincipals: [consoleRoleArnPattern(this)] }
        : {}),
    });
    if (config.console) {
      adminConsole = new AdminConsole(this, 'Console', {
        api: this.api.api,
        routes,
        ...(config.consoleDomainPrefix ? { domainPrefix: config.consoleDomainPrefix } : {}),
        logRetention,
      });
      this.adminConsole = adminConsole;
    }

    this.auditStream = new AuditStream(this, 'AuditStream', {
      table: this.tables.tables[streamConsumer.table],
      consumer: fn(streamConsumer.fn),
      iteratorAgeThreshold: Duration.minutes(config.iteratorAgeAlarmMinutes),
    });
    this.schedules = new Schedules(this, 'Schedules', {
      schedules: schedules.map((s) => ({
        name: s.fn.name,
        function: fn(s.fn).function,
        every: Duration.minutes(s.everyMinutes),
      })),
    });
    // The default organization and the first super admins (docs/tenancy.md#seeding), on every
    // deploy; the list is a property, so changing latchkey:superAdmins runs the seed again.
    const seeder = fn(seed.fn);
    this.adminSeed = new CfnCustomResource(this, 'AdminSeed', { serviceToken: seeder.function.functionArn });
    this.adminSeed.addPropertyOverride('SuperAdmins', config.superAdmins);
    // Its grants must exist before CloudFormation invokes it.
    this.adminSeed.node.addDependency(seeder);
    if (config.superAdmins.length === 0) {
      Annotations.of(this).addWarningV2(
        'latchkey:noSuperAdmins',
        'latchkey:superAdmins is empty: no principal is bound, so every management request is refused until a super admin binding exists (docs/tenancy.md#seeding).',
      );
    }
    this.functions = built;

    this.operations = new OperationsDashboard(this, 'Operations', {
      authorizer: this.authorizer.function,
      auditConsumer: fn(streamConsumer.fn).function,
      alarms: {
        'Audit stream dead letters': this.auditStream.deadLetterQueue.alarm,
        'Audit consumer iterator age': this.auditStream.iteratorAgeAlarm,
        'Scheduled run dead letters': this.schedules.deadLetterQueue.alarm,
      },
    });

    this.alarmTopic = config.alarmTopicArn
      ? sns.Topic.fromTopicArn(this, 'AlarmTopic', config.alarmTopicArn)
      : this.newAlarmTopic();
    const alarms: cloudwatch.Alarm[] = [
      this.operations.authorizerErrorsAlarm,
      this.operations.authorizerLatencyAlarm,
      this.auditStream.deadLetterQueue.alarm,
      this.auditStream.iteratorAgeAlarm,
      this.schedules.deadLetterQueue.alarm,
    ];
    for (const alarm of alarms) {
      alarm.addAlarmAction(new actions.SnsAction(this.alarmTopic));
      alarm.addOkAction(new actions.SnsAction(this.alarmTopic));
    }

    this.publish(config.parameterPrefix);
  }

  /** Alarm notifications: alarm names and states only, nothing secret. */
  private newAlarmTopic(): sns.Topic {
    const topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'Latchkey alarms',
      enforceSSL: true,
    });
    Validations.of(topic).acknowledge({
      id: 'AwsSolutions-SNS2',
      reason:
        'Alarm notifications carry alarm names and states, nothing secret; CloudWatch cannot publish to a topic ' +
        'encrypted with the AWS managed SNS key, and a key of its own would cost more than it protects. ' +
        'Set latchkey:alarmTopicArn to use an encrypted topic of yours.',
    });
    return topic;
  }

  /**
   * What product teams and operators need, as stack outputs and as SSM parameters under `prefix`
   * (the consumer constructs read the authorizer's ARN there by default).
   */
  private publish(prefix: string): void {
    const { keys, counters, audit, apis, admin } = this.tables.tables;
    const published: [keyof typeof PARAMETERS, string, string, string][] = [
      [
        'authorizerFunctionArn',
        'AuthorizerFunctionArn',
        this.authorizer.function.functionArn,
        'The shared Latchkey authorizer: attach it to your API by ARN',
      ],
      [
        'apiUrl',
        'ApiUrl',
        this.api.api.url,
        'Base URL of the REST API (management under v1/, demo under demo/)',
      ],
      ['keysTableArn', 'KeysTableArn', keys.tableArn, 'Keys table'],
      ['countersTableArn', 'CountersTableArn', counters.tableArn, 'Usage counters table'],
      ['auditTableArn', 'AuditTableArn', audit.tableArn, 'Append-only audit table'],
      ['apisTableArn', 'ApisTableArn', apis.tableArn, 'Registered APIs table'],
      ['kmsKeyArn', 'KmsKeyArn', this.key.keyArn, 'The KMS key that encrypts the tables and key metadata'],
      ['eventBusArn', 'EventBusArn', this.eventBus.eventBusArn, 'Domain events (source "latchkey")'],
    ];
    for (const [parameter, output, value, description] of published) {
      new CfnOutput(this, output, { value, description });
      new ssm.StringParameter(this, `${output}Parameter`, {
        parameterName: `${prefix}${PARAMETERS[parameter]}`,
        stringValue: value,
        description: `Latchkey: ${description}`,
      });
    }
    const output = (name: string, value: string, description: string) =>
      new CfnOutput(this, name, { value, description });
    output(
      'DashboardName',
      this.operations.dashboard.dashboardName,
      'CloudWatch dashboard: decisions, latency, audit consumer, alarms (docs/operations.md)',
    );
    output('AlarmTopicArn', this.alarmTopic.topicArn, 'SNS topic every Latchkey alarm notifies');
    output('KeysTableName', keys.tableName, 'Keys table');
    output('CountersTableName', counters.tableName, 'Usage counters table');
    output('AuditTableName', audit.tableName, 'Append-only audit table');
    output('ApisTableName', apis.tableName, 'Registered APIs table');
    output('AdminTableName', admin.tableName, 'Organizations, workspaces, bindings, policies');
    const hosted = this.adminConsole;
    if (hosted) {
      output('ConsoleUrl', `${hosted.origin}/`, 'The admin console (docs/console-on-aws.md)');
      output(
        'ConsoleUserPoolId',
        hosted.userPool.userPoolId,
        'Console admins: create them here, MFA required',
      );
      for (const group of CONSOLE_GROUPS) {
        const role = hosted.roles.get(group.name);
        if (!role) continue;
        const id = group.name.replace(/(^|-)([a-z])/g, (_m, _d, c: string) => c.toUpperCase());
        output(
          `Console${id}Principal`,
          `arn:${this.partition}:sts::${this.account}:assumed-role/${role.roleName}/*`,
          `Bind this principal pattern (e.g. as ${group.suggestedBinding}) for the ${group.name} group's sessions`,
        );
      }
    }
  }
}
