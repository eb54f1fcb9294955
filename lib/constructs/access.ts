import { ArnFormat, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct, type IConstruct } from 'constructs';
import {
  ACCESS_GRANTS,
  METADATA_CONTEXT_KEY,
  ROTATION_SECRET_PREFIX,
  TABLE_KEY_ACTIONS,
} from '../access-model';
import { type Access, indexesOf, type TableId, tableDeclaration } from '../declaration';

export interface AccessResources {
  /**
   * Latchkey's tables. For tables owned by another stack or account, import them with
   * `Table.fromTableAttributes({ tableArn, encryptionKey })`: without `encryptionKey` no KMS grant
   * is made and DynamoDB refuses every call on a customer-managed-key table.
   */
  readonly tables: Partial<Readonly<Record<TableId, dynamodb.ITable>>>;
  /**
   * The key that encrypts key metadata (docs/keys.md); required by `kms:encrypt` and `kms:decrypt`.
   * @default - none
   */
  readonly metadataKey?: kms.IKey;
  /**
   * The domain event bus; required by `events:put`.
   * @default - none
   */
  readonly eventBus?: events.IEventBus;
}

function need<T>(value: T | undefined, access: Access, what: string): T {
  if (value === undefined) throw new Error(`Access "${access}" needs ${what} in AccessResources`);
  return value;
}

/**
 * Grants `grantee` exactly the declared `access`, as `ACCESS_GRANTS` (`lib/access-model.ts`) defines
 * it: the one mapping from `Access` to IAM, used for every function and enforced by the local stack.
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
    const grant = ACCESS_GRANTS[a];
    switch (grant.service) {
      case 'dynamodb': {
        const table = need(resources.tables[grant.table], a, `the ${grant.table} table`);
        // Indexes are named one by one (from the declaration) rather than `index/*`.
        const indexArns = grant.indexes
          ? indexesOf(tableDeclaration(grant.table)).map((i) => `${table.tableArn}/index/${i.name}`)
          : [];
        iam.Grant.addToPrincipal({
          grantee,
          actions: [...grant.actions],
          resourceArns: [table.tableArn, ...indexArns],
        });
        if (table.encryptionKey) {
          iam.Grant.addToPrincipal({
            grantee,
            actions: [...(grant.read ? TABLE_KEY_ACTIONS.read : TABLE_KEY_ACTIONS.write)],
            resourceArns: [table.encryptionKey.keyArn],
            conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${table.env.region}.amazonaws.com` } },
          });
        }
        break;
      }
      case 'kms':
        iam.Grant.addToPrincipal({
          grantee,
          actions: [...grant.actions],
          resourceArns: [need(resources.metadataKey, a, 'metadataKey').keyArn],
          conditions: { 'ForAnyValue:StringEquals': { 'kms:EncryptionContextKeys': METADATA_CONTEXT_KEY } },
        });
        break;
      case 'events':
        // What `eventBus.grantPutEventsTo` does for a grantee with a role, with the model's actions.
        iam.Grant.addToPrincipal({
          grantee,
          actions: [...grant.actions],
          resourceArns: [need(resources.eventBus, a, 'eventBus').eventBusArn],
        });
        break;
      case 'secretsmanager':
        iam.Grant.addToPrincipal({
          grantee,
          actions: [...grant.actions],
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
