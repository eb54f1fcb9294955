import { ArnFormat, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct, type IConstruct } from 'constructs';
import { type Access, type TableId, tables } from '../declaration';

/**
 * Destinations the rotator may write new secrets to: Secrets Manager secrets whose name starts with
 * `latchkey/` (e.g. `latchkey/<team>/<key id>`). Names are chosen by key owners after deploy, so
 * the grant is a name prefix; a secret outside it can never receive a Latchkey token.
 */
export const ROTATION_SECRET_PREFIX = 'latchkey/';

/** The encryption context key every metadata ciphertext carries (`functions/repositories/metadata-cipher.ts`). */
export const METADATA_CONTEXT_KEY = 'key_id';

export interface AccessResources {
  /**
   * Latchkey's tables. For tables owned by another stack or account, import them with
   * `Table.fromTableAttributes({ tableArn, encryptionKey })`: without `encryptionKey` no KMS grant
   * is made and DynamoDB refuses every call on a customer-managed-key table.
   */
  readonly tables: Readonly<Record<TableId, dynamodb.ITable>>;
  /**
   * The key that encrypts key metadata (SPEC §3.3); required by `kms:encrypt` and `kms:decrypt`.
   * @default - none
   */
  readonly metadataKey?: kms.IKey;
  /**
   * The domain event bus; required by `events:put`.
   * @default - none
   */
  readonly eventBus?: events.IEventBus;
}

interface TableGrant {
  readonly table: TableId;
  readonly actions: readonly string[];
  /** Whether DynamoDB reads (true) or writes (false) the table key for these actions. */
  readonly read: boolean;
  /** Whether the grant covers the table's indexes (Query) or only the table itself. */
  readonly indexes: boolean;
}

/**
 * Exact DynamoDB actions per declared access. Deliberately absent everywhere: DeleteItem (keys are
 * revoked, never deleted; counters expire by TTL), BatchGetItem, BatchWriteItem and Scan. `get` is
 * GetItem on the table only, so a function that fetches one key by id (the authorizer above all)
 * cannot list keys through an index. The audit table gets PutItem and Query only: nobody can change
 * or remove an audit entry (SPEC §2).
 */
const TABLE_GRANTS: Partial<Record<Access, TableGrant>> = {
  'keys:get': { table: 'keys', actions: ['dynamodb:GetItem'], read: true, indexes: false },
  'keys:query': { table: 'keys', actions: ['dynamodb:Query'], read: true, indexes: true },
  'keys:write': {
    table: 'keys',
    actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
    read: false,
    indexes: false,
  },
  'counters:get': { table: 'counters', actions: ['dynamodb:GetItem'], read: true, indexes: false },
  'counters:write': {
    table: 'counters',
    actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
    read: false,
    indexes: false,
  },
  'audit:query': { table: 'audit', actions: ['dynamodb:Query'], read: true, indexes: true },
  'audit:write': { table: 'audit', actions: ['dynamodb:PutItem'], read: false, indexes: false },
};

/** What DynamoDB asks KMS for, on the caller's behalf, to read or write a customer-managed-key table. */
const TABLE_KEY_ACTIONS = {
  read: ['kms:Decrypt', 'kms:DescribeKey'],
  write: ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'],
};

function need<T>(value: T | undefined, access: Access, what: string): T {
  if (value === undefined) throw new Error(`Access "${access}" needs ${what} in AccessResources`);
  return value;
}

/**
 * Grants `grantee` exactly the declared `access` (the one mapping from `Access` to IAM, used for
 * every function).
 *
 * The stack's single key encrypts both the tables and key metadata, so table-key grants carry
 * `kms:ViaService = dynamodb.<region>`: a function that may read the keys table still cannot call
 * KMS itself to decrypt metadata. Only `kms:encrypt` / `kms:decrypt` allow direct KMS calls, and
 * only with an encryption context naming a key id.
 */
export function grantAccess(
  grantee: iam.IGrantable & IConstruct,
  access: readonly Access[],
  resources: AccessResources,
): void {
  const stack = Stack.of(grantee);
  for (const a of access) {
    const tableGrant = TABLE_GRANTS[a];
    if (tableGrant) {
      const table = resources.tables[tableGrant.table];
      // Indexes are named one by one (from the declaration) rather than `index/*`.
      const indexArns = tableGrant.indexes
        ? tables[tableGrant.table].indexes.map((i) => `${table.tableArn}/index/${i.name}`)
        : [];
      iam.Grant.addToPrincipal({
        grantee,
        actions: [...tableGrant.actions],
        resourceArns: [table.tableArn, ...indexArns],
      });
      if (table.encryptionKey) {
        iam.Grant.addToPrincipal({
          grantee,
          actions: tableGrant.read ? TABLE_KEY_ACTIONS.read : TABLE_KEY_ACTIONS.write,
          resourceArns: [table.encryptionKey.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${table.env.region}.amazonaws.com` } },
        });
      }
      continue;
    }
    switch (a) {
      case 'kms:encrypt':
      case 'kms:decrypt':
        iam.Grant.addToPrincipal({
          grantee,
          actions: [a === 'kms:encrypt' ? 'kms:Encrypt' : 'kms:Decrypt'],
          resourceArns: [need(resources.metadataKey, a, 'metadataKey').keyArn],
          conditions: { 'ForAnyValue:StringEquals': { 'kms:EncryptionContextKeys': METADATA_CONTEXT_KEY } },
        });
        break;
      case 'events:put':
        need(resources.eventBus, a, 'eventBus').grantPutEventsTo(grantee);
        break;
      case 'secrets:write':
        iam.Grant.addToPrincipal({
          grantee,
          // Secrets Manager's staged rotation: stage (PutSecretValue as AWSPENDING), find the current
          // version (DescribeSecret), promote (UpdateSecretVersionStage). No GetSecretValue.
          actions: [
            'secretsmanager:DescribeSecret',
            'secretsmanager:PutSecretValue',
            'secretsmanager:UpdateSecretVersionStage',
          ],
          resourceArns: [
            stack.formatArn({
              service: 'secretsmanager',
              resource: 'secret',
              resourceName: `${ROTATION_SECRET_PREFIX}*`,
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          ],
        });
        // On the role when there is one: its policy is where nag finds the statement.
        Validations.of(
          Construct.isConstruct(grantee.grantPrincipal) ? grantee.grantPrincipal : grantee,
        ).acknowledge({
          id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${ROTATION_SECRET_PREFIX}*]`,
          reason:
            'Rotation destinations are secrets key owners name after deploy; the grant is limited to the ' +
            `"${ROTATION_SECRET_PREFIX}" name prefix and to PutSecretValue/UpdateSecretVersionStage/DescribeSecret ` +
            '(stage and promote a version; no read of any secret value).',
        });
        break;
      default:
        throw new Error(`No IAM mapping for access "${a}"`);
    }
  }
}
