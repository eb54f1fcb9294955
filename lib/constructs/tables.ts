import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { type AttributeDeclaration, indexesOf, type TableId, tableDeclaration } from '../declaration';

export interface LatchkeyTablesProps {
  /** The customer-managed key every table is encrypted with (docs/architecture.md). */
  readonly encryptionKey: kms.IKey;
}

/**
 * Data that must survive a stack deletion: the keys (losing them locks every consumer out), the
 * audit trail (a security record), the admin table (who may manage what: organizations,
 * bindings, policies) and the API registrations (every protected API's route map). Counters hold
 * only TTL'd minute counts and once-only markers (losing them at worst repeats an expiry alert,
 * with the same event id), so that table goes with the stack.
 */
const KEEP: Readonly<Record<TableId, boolean>> = {
  keys: true,
  audit: true,
  counters: false,
  admin: true,
  apis: true,
};

const attribute = (a: AttributeDeclaration): dynamodb.Attribute => ({
  name: a.name,
  type: a.type === 'N' ? dynamodb.AttributeType.NUMBER : dynamodb.AttributeType.STRING,
});

/**
 * The keys, counters, audit and API registration tables, each built from its declaration in `lib/declaration.ts`
 * (keys, indexes, TTL, stream). This is where the audit table is defined.
 * On-demand, point-in-time recovery, encrypted with the stack's key; generated names, which
 * functions learn through their environment (lib/function-environment.ts).
 */
export class LatchkeyTables extends Construct {
  readonly tables: Readonly<Record<TableId, dynamodb.Table>>;

  constructor(scope: Construct, id: string, props: LatchkeyTablesProps) {
    super(scope, id);
    const build = (tableId: TableId, constructId: string): dynamodb.Table => {
      const d = tableDeclaration(tableId);
      const table = new dynamodb.Table(this, constructId, {
        partitionKey: attribute(d.partitionKey),
        sortKey: d.sortKey && attribute(d.sortKey),
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
        encryptionKey: props.encryptionKey,
        timeToLiveAttribute: d.ttlAttribute,
        stream: d.stream === 'NEW_AND_OLD_IMAGES' ? dynamodb.StreamViewType.NEW_AND_OLD_IMAGES : undefined,
        deletionProtection: KEEP[tableId],
        removalPolicy: KEEP[tableId] ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      });
      for (const index of indexesOf(d)) {
        table.addGlobalSecondaryIndex({
          indexName: index.name,
          partitionKey: attribute(index.partitionKey),
          sortKey: index.sortKey && attribute(index.sortKey),
          projectionType: dynamodb.ProjectionType.ALL,
        });
      }
      return table;
    };
    this.tables = {
      keys: build('keys', 'Keys'),
      counters: build('counters', 'Counters'),
      audit: build('audit', 'Audit'),
      apis: build('apis', 'Apis'),
      admin: build('admin', 'Admin'),
    };
  }

  /** Each table's generated name, for `functionEnvironment` (lib/function-environment.ts). */
  get names(): Record<TableId, string> {
    return tableNames(this.tables);
  }
}

/** The names of any set of (possibly imported) tables. */
export function tableNames<T extends TableId>(refs: Readonly<Record<T, dynamodb.ITable>>): Record<T, string> {
  return Object.fromEntries(
    (Object.entries(refs) as [T, dynamodb.ITable][]).map(([id, table]) => [id, table.tableName]),
  ) as Record<T, string>;
}
