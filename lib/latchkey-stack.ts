import {
  Annotations,
  CfnCustomResource,
  CfnOutput,
  Duration,
  RemovalPolicy,
  Stack,
  type StackProps,
} from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { functionSettings, type LatchkeyConfig, readConfig } from './config';
import { grantAccess } from './constructs/access';
import { AuditStream } from './constructs/audit-stream';
import { LatchkeyAuthorizer } from './constructs/latchkey-authorizer';
import { LatchkeyFunction } from './constructs/latchkey-function';
import { ManagementApi } from './constructs/management-api';
import { OperationsDashboard } from './constructs/operations-dashboard';
import { Schedules } from './constructs/schedules';
import { LatchkeyTables } from './constructs/tables';
import {
  type FunctionDeclaration,
  functions,
  routeFunctions,
  routeScopeMap,
  routes,
  schedules,
  seed,
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
 * function per operation, the authorizer, the audit stream consumer and the scheduled lifecycle
 * functions, each function holding exactly its declared access.
 */
export class LatchkeyStack extends Stack {
  readonly config: LatchkeyConfig;
  readonly key: kms.Key;
  readonly tables: LatchkeyTables;
  readonly eventBus: events.EventBus;
  readonly authorizer: LatchkeyAuthorizer;
  readonly api: ManagementApi;
  readonly auditStream: AuditStream;
  readonly schedules: Schedules;
  /** The CloudWatch dashboard and the authorizer's alarms (docs/operations.md). */
  readonly operations: OperationsDashboard;
  /** Every function, by declared name. */
  readonly functions: ReadonlyMap<string, LatchkeyFunction>;
  /** Runs the admin seed (`lib/declaration.ts` `seed`) on every deploy. */
  readonly adminSeed: CfnCustomResource;

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

    // Each function gets only the variables its declaration needs (lib/function-environment.ts).
    const sources: EnvironmentSources = {
      tables: this.tables.names,
      kmsKeyId: this.key.keyArn,
      eventBusName: this.eventBus.eventBusName,
      settings: functionSettings(config),
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

    this.authorizer = new LatchkeyAuthorizer(this, 'Authorizer', {
      keysTable: this.tables.tables.keys,
      countersTable: this.tables.tables.counters,
      auditTable: this.tables.tables.audit,
      routeScopes: routeScopeMap(routes),
      ...(config.demoApiEnvironment ? { environment: config.demoApiEnvironment } : {}),
      limitsEnforcement: config.limitsEnforcement,
      resultsCacheTtl: Duration.seconds(config.authorizerCacheTtlSeconds),
      keyCacheTtl: Duration.seconds(config.authorizerKeyCacheSeconds),
      sourceIpCoolDown: config.sourceIpCoolDown,
      suspiciousSourceIps: config.suspiciousSourceIps,
      auditRetentionDays: config.auditRetentionDays,
      logRetention,
    });
    built.set(functions.authorizer.name, this.authorizer.function);

    this.api = new ManagementApi(this, 'Api', {
      routes,
      handlers: Object.fromEntries(routeFunctions(routes).map((d) => [d.name, fn(d).function])),
      authorizer: this.authorizer,
      throttle: config.throttle,
      accessLogRetention: logRetention,
      cloudWatchRole: config.apiGatewayCloudWatchRole,
      ...(config.webAclArn ? { webAclArn: config.webAclArn } : {}),
    });

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
      authorizer: this.authorizer.function.function,
      auditConsumer: fn(streamConsumer.fn).function,
      alarms: {
        'Audit stream dead letters': this.auditStream.deadLetterQueue.alarm,
        'Audit consumer iterator age': this.auditStream.iteratorAgeAlarm,
        'Scheduled run dead letters': this.schedules.deadLetterQueue.alarm,
      },
    });

    const output = (name: string, value: string, description: string) =>
      new CfnOutput(this, name, { value, description });
    output('ApiUrl', this.api.api.url, 'Base URL of the REST API (management under v1/, demo under demo/)');
    output(
      'AuthorizerFunctionArn',
      this.authorizer.function.function.functionArn,
      'The Latchkey Lambda authorizer',
    );
    output('EventBusArn', this.eventBus.eventBusArn, 'Domain events (source "latchkey")');
    output(
      'DashboardName',
      this.operations.dashboard.dashboardName,
      'CloudWatch dashboard: decisions, latency, audit consumer, alarms (docs/operations.md)',
    );
    output('KeysTableName', this.tables.tables.keys.tableName, 'Keys table');
    output('CountersTableName', this.tables.tables.counters.tableName, 'Usage counters table');
    output('AuditTableName', this.tables.tables.audit.tableName, 'Append-only audit table');
    output(
      'AdminTableName',
      this.tables.tables.admin.tableName,
      'Organizations, workspaces, bindings, policies',
    );
  }
}
