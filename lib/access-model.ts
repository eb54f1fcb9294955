/**
 * What each declared `Access` allows: the exact IAM actions, and on which resources. Pure data with
 * no CDK import, so the same table serves `lib/constructs/access.ts` (the IAM grants on AWS) and
 * `local/iam.ts` (the same grants enforced on the local stack). Nothing else keeps a second list.
 */
import type { Access, TableId } from './declaration';

/**
 * Destinations the rotator may write new secrets to: Secrets Manager secrets whose name starts with
 * `latchkey/` (e.g. `latchkey/<team>/<key id>`). Names are chosen by key owners after deploy, so
 * the grant is a name prefix; a secret outside it can never receive a Latchkey token.
 */
export const ROTATION_SECRET_PREFIX = 'latchkey/';

/** The encryption context key every metadata ciphertext carries (`functions/repositories/metadata-cipher.ts`). */
export const METADATA_CONTEXT_KEY = 'key_id';

/**
 * What DynamoDB asks KMS for, on the caller's behalf, to read or write a table encrypted with a
 * customer-managed key (all of Latchkey's): granted with every table access, only through DynamoDB
 * (`kms:ViaService`).
 */
export const TABLE_KEY_ACTIONS = {
  read: ['kms:Decrypt', 'kms:DescribeKey'],
  write: ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'],
} as const;

/** DynamoDB actions on one declared table. */
export interface TableGrant {
  readonly service: 'dynamodb';
  readonly table: TableId;
  readonly actions: readonly string[];
  /** Whether DynamoDB reads (true) or writes (false) the table key for these actions. */
  readonly read: boolean;
  /** Whether the grant covers the table's declared indexes (Query) or only the table itself. */
  readonly indexes: boolean;
}

/** Direct KMS calls on the metadata key, only with an encryption context naming `METADATA_CONTEXT_KEY`. */
export interface KmsGrant {
  readonly service: 'kms';
  readonly actions: readonly string[];
}

/** Calls on the domain event bus. */
export interface EventsGrant {
  readonly service: 'events';
  readonly actions: readonly string[];
}

/** Calls on Secrets Manager secrets named `ROTATION_SECRET_PREFIX*`. */
export interface SecretsGrant {
  readonly service: 'secretsmanager';
  readonly actions: readonly string[];
}

export type Grant = TableGrant | KmsGrant | EventsGrant | SecretsGrant;

/**
 * Exact actions per declared access. Deliberately absent everywhere: DeleteItem (keys are revoked,
 * never deleted; counters expire by TTL) except `admin:delete` (removing a principal binding),
 * BatchGetItem, BatchWriteItem and Scan. `get` is GetItem
 * on the table only, so a function that fetches one key by id (the authorizer above all) cannot
 * list keys through an index. The audit table gets PutItem and Query only: nobody can change or
 * remove an audit entry (docs/architecture.md).
 */
export const ACCESS_GRANTS: Readonly<Record<Access, Grant>> = {
  'keys:get': {
    service: 'dynamodb',
    table: 'keys',
    actions: ['dynamodb:GetItem'],
    read: true,
    indexes: false,
  },
  'keys:query': {
    service: 'dynamodb',
    table: 'keys',
    actions: ['dynamodb:Query'],
    read: true,
    indexes: true,
  },
  'keys:write': {
    service: 'dynamodb',
    table: 'keys',
    actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
    read: false,
    indexes: false,
  },
  'counters:get': {
    service: 'dynamodb',
    table: 'counters',
    actions: ['dynamodb:GetItem'],
    read: true,
    indexes: false,
  },
  'counters:query': {
    service: 'dynamodb',
    table: 'counters',
    actions: ['dynamodb:Query'],
    read: true,
    // `top_keys`: the overview's most used keys (docs/analytics.md).
    indexes: true,
  },
  'counters:write': {
    service: 'dynamodb',
    table: 'counters',
    actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
    read: false,
    indexes: false,
  },
  'audit:query': {
    service: 'dynamodb',
    table: 'audit',
    actions: ['dynamodb:Query'],
    read: true,
    indexes: true,
  },
  'audit:write': {
    service: 'dynamodb',
    table: 'audit',
    actions: ['dynamodb:PutItem'],
    read: false,
    indexes: false,
  },
  // Registered APIs: the authorizer and key changes fetch one registration or module claim by key;
  // only GET /v1/apis lists (through by_kind); a registration is written with PutItem only
  // (replaced whole, never deleted: a module once claimed stays with its API).
  'apis:get': {
    service: 'dynamodb',
    table: 'apis',
    actions: ['dynamodb:GetItem'],
    read: true,
    indexes: false,
  },
  'apis:query': {
    service: 'dynamodb',
    table: 'apis',
    actions: ['dynamodb:Query'],
    read: true,
    indexes: true,
  },
  'apis:write': {
    service: 'dynamodb',
    table: 'apis',
    actions: ['dynamodb:PutItem'],
    read: false,
    indexes: false,
  },
  // Tenancy records (docs/tenancy.md): the access check reads one item or one partition; writes are
  // conditional, and most go in a transaction with their audit entry (whose PutItem is audit:write).
  'admin:get': {
    service: 'dynamodb',
    table: 'admin',
    actions: ['dynamodb:GetItem'],
    read: true,
    indexes: false,
  },
  'admin:query': {
    service: 'dynamodb',
    table: 'admin',
    actions: ['dynamodb:Query'],
    read: true,
    indexes: false,
  },
  'admin:write': {
    service: 'dynamodb',
    table: 'admin',
    actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:ConditionCheckItem'],
    read: false,
    indexes: false,
  },
  // Only removing a principal binding deletes anything, and only on this table (AdminBindings).
  'admin:delete': {
    service: 'dynamodb',
    table: 'admin',
    actions: ['dynamodb:DeleteItem'],
    read: false,
    indexes: false,
  },
  'kms:encrypt': { service: 'kms', actions: ['kms:Encrypt'] },
  'kms:decrypt': { service: 'kms', actions: ['kms:Decrypt'] },
  'events:put': { service: 'events', actions: ['events:PutEvents'] },
  // Secrets Manager's staged rotation: stage (PutSecretValue as AWSPENDING), find the current
  // version (DescribeSecret), promote (UpdateSecretVersionStage). No GetSecretValue.
  'secrets:write': {
    service: 'secretsmanager',
    actions: [
      'secretsmanager:DescribeSecret',
      'secretsmanager:PutSecretValue',
      'secretsmanager:UpdateSecretVersionStage',
    ],
  },
};
