/**
 * The one declaration of Latchkey's moving parts: tables, routes (with their authorization and the
 * least-privilege access of the function behind them), the stream consumer and the schedules.
 *
 * Pure data with no CDK import: `lib/latchkey-stack.ts` turns it into CloudFormation and `local/`
 * turns it into DynamoDB Local tables, gateway routes, a stream poller and a scheduler. Nothing
 * else keeps a second list.
 */

/**
 * What a function may do; each maps to one narrow IAM grant in CDK (`lib/constructs/access.ts`).
 * `get` is GetItem by key, `query` is Query on the table and its indexes (listing: kept from
 * functions that only ever fetch one item by id, like the authorizer), `write` is Put/UpdateItem.
 */
export type Access =
  | 'keys:get'
  | 'keys:query'
  | 'keys:write'
  | 'counters:get'
  | 'counters:query'
  | 'counters:write'
  | 'audit:query'
  | 'audit:write'
  | 'kms:encrypt'
  | 'kms:decrypt'
  | 'events:put'
  | 'secrets:write'
  | 'apis:get'
  | 'apis:query'
  | 'apis:write'
  | 'admin:get'
  | 'admin:query'
  | 'admin:write'
  | 'admin:delete';

export type TableId = 'keys' | 'counters' | 'audit' | 'admin' | 'apis';

/**
 * Configuration a function reads besides the resources its access implies; each becomes one
 * environment variable (`lib/function-environment.ts`, docs/configuration.md).
 */
export type Setting =
  | 'auditRetentionDays'
  | 'expiryThresholdsDays'
  | 'apiKeysEnabled'
  | 'apiEnvironment'
  | 'routeScopes'
  | 'accountId'
  | 'apiCacheSeconds'
  | 'superAdmins'
  | 'policyRules'
  | 'keyCacheSeconds'
  | 'sourceIpCoolDown'
  | 'suspiciousSourceIps'
  | 'consoleOrigin';

export interface AttributeDeclaration {
  readonly name: string;
  readonly type: 'S' | 'N';
}

export interface IndexDeclaration {
  readonly name: string;
  readonly partitionKey: AttributeDeclaration;
  readonly sortKey?: AttributeDeclaration;
}

export interface TableDeclaration {
  /** Environment variable through which functions learn the table's (generated) name. */
  readonly envVar: string;
  readonly partitionKey: AttributeDeclaration;
  readonly sortKey?: AttributeDeclaration;
  /** Global secondary indexes by the name code uses for them (repositories read names and keys here). */
  readonly indexes: Readonly<Record<string, IndexDeclaration>>;
  /** Epoch-seconds attribute DynamoDB expires items by. */
  readonly ttlAttribute?: string;
  readonly stream?: 'NEW_AND_OLD_IMAGES';
}

export const tables = {
  /** One item per key, fetched by id with a single GetItem on every authorization. */
  keys: {
    envVar: 'KEYS_TABLE_NAME',
    partitionKey: { name: 'id', type: 'S' },
    indexes: {
      // Lists are newest first within a partition; `created_sort` = `<created_at>#<id>`.
      byOrganization: {
        name: 'by_organization',
        partitionKey: { name: 'organization_id', type: 'S' },
        sortKey: { name: 'created_sort', type: 'S' },
      },
      byWorkspace: {
        name: 'by_workspace',
        partitionKey: { name: 'workspace_id', type: 'S' },
        sortKey: { name: 'created_sort', type: 'S' },
      },
      // Every key carries `kind = "api_key"`: the registry-wide list without a Scan.
      byKind: {
        name: 'by_kind',
        partitionKey: { name: 'kind', type: 'S' },
        sortKey: { name: 'created_sort', type: 'S' },
      },
      // Sparse: only keys with an expiry; the expiry scanner queries one day at a time.
      byExpiryDay: {
        name: 'by_expiry_day',
        partitionKey: { name: 'expires_day', type: 'S' },
        sortKey: { name: 'expires_at', type: 'S' },
      },
      // Sparse: only keys with a rotation policy; the rotator queries the days that are due.
      byRotationDay: {
        name: 'by_rotation_day',
        partitionKey: { name: 'rotation_due_day', type: 'S' },
        sortKey: { name: 'rotation_due_at', type: 'S' },
      },
    },
    stream: 'NEW_AND_OLD_IMAGES',
  },
  /**
   * Traffic counters (rate windows, quota periods, per-minute and per-hour use, last use, junk per
   * source IP), pending `ApiKeySuspicious` notices, once-only markers (used entries, expiry
   * alerts) and the registry's aggregates for the overview, apart from the keys so they never feed
   * the audit stream. Layout: `functions/repositories/counters-repository.ts`, and for the overview
   * `stats-repository.ts` and `activity-repository.ts` (docs/analytics.md).
   */
  counters: {
    envVar: 'COUNTERS_TABLE_NAME',
    partitionKey: { name: 'pk', type: 'S' },
    sortKey: { name: 'sk', type: 'S' },
    indexes: {
      // Sparse: only per-key daily use items; `top_part` = `<all | org#<org>>#<day>`, most used first.
      topKeys: {
        name: 'top_keys',
        partitionKey: { name: 'top_part', type: 'S' },
        sortKey: { name: 'day_allowed', type: 'N' },
      },
    },
    ttlAttribute: 'ttl',
  },
  /** Append-only audit trail: `pk` = `KEY#<id>`, `sk` = `<timestamp>#<event id>`. */
  audit: {
    envVar: 'AUDIT_TABLE_NAME',
    partitionKey: { name: 'pk', type: 'S' },
    sortKey: { name: 'sk', type: 'S' },
    indexes: {
      byOrganization: {
        name: 'by_organization',
        partitionKey: { name: 'organization_id', type: 'S' },
        sortKey: { name: 'sk', type: 'S' },
      },
    },
    ttlAttribute: 'ttl',
  },
  /**
   * Registered APIs (docs/protecting-apis.md): `pk` = `API#<name>` for a registration, read by the
   * authorizer with one GetItem; `MODULE#<module>` for each scope module an API claims (who owns it,
   * and its scopes), so a key's scopes are checked with one GetItem per module and no two APIs can
   * define the same scope.
   */
  apis: {
    envVar: 'APIS_TABLE_NAME',
    partitionKey: { name: 'pk', type: 'S' },
    indexes: {
      // Only registrations carry `kind = "api"`: `GET /v1/apis` without a Scan, by name.
      byKind: {
        name: 'by_kind',
        partitionKey: { name: 'kind', type: 'S' },
        sortKey: { name: 'name', type: 'S' },
      },
    },
  },
  /**
   * Tenancy and admin access, one table (docs/tenancy.md#records): organizations (`pk` = `ORG`),
   * workspaces and organization policies (`pk` = `ORG#<org>`), principal bindings (`pk` =
   * `BINDING`) and root-mode elevations (`pk` = `ELEVATION`, expiring by TTL). Every read on a
   * request path is a GetItem or a Query on one partition; no index, no Scan.
   */
  admin: {
    envVar: 'ADMIN_TABLE_NAME',
    partitionKey: { name: 'pk', type: 'S' },
    sortKey: { name: 'sk', type: 'S' },
    indexes: {},
    ttlAttribute: 'ttl',
  },
} as const satisfies Record<TableId, TableDeclaration>;

/** One table's declaration, typed for code that treats every table alike (CDK, local tables, IAM). */
export function tableDeclaration(id: TableId): TableDeclaration {
  return tables[id];
}

/** A table's indexes, in declaration order. */
export function indexesOf(t: TableDeclaration): IndexDeclaration[] {
  return Object.values(t.indexes);
}

/** How a route is authorized: SigV4 (IAM) for management, a Latchkey key with a scope for protected APIs. */
export type RouteAuth = { readonly type: 'iam' } | { readonly type: 'latchkey'; readonly scope: string };

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

/** A Lambda function, named by its source file (relative to the repository root, export `handler`). */
export interface FunctionDeclaration {
  /** Stable name: CDK construct id and `npm run invoke -- <name>`. */
  readonly name: string;
  readonly entry: string;
  readonly access: readonly Access[];
  /**
   * Settings the function reads. Resource names (tables, KMS key, bus) need no entry: they follow
   * from `access`. @default none
   */
  readonly settings?: readonly Setting[];
  /** @default 10 */
  readonly timeoutSeconds?: number;
  /** @default 256 */
  readonly memoryMb?: number;
}

export interface RouteDeclaration {
  readonly method: HttpMethod;
  /** API Gateway resource path, `{param}` for path parameters. */
  readonly path: string;
  readonly auth: RouteAuth;
  readonly fn: FunctionDeclaration;
  /**
   * Only callers whose credentials carry MFA (`aws:MultiFactorAuthPresent`): on AWS a statement of
   * the REST API's resource policy, locally the principal's `"mfa": true` (docs/tenancy.md#root-mode).
   */
  readonly mfa?: true;
}

/** What the built-in registration `default` is made of: the demo routes, their environment, this account. */
const builtInApi: Setting[] = ['routeScopes', 'apiEnvironment', 'accountId'];

/** What a decision reads (the authorizer's, and verify's, which must decide alike). */
const decisionSettings: Setting[] = [
  ...builtInApi,
  'apiCacheSeconds',
  'auditRetentionDays',
  'keyCacheSeconds',
  'sourceIpCoolDown',
  'suspiciousSourceIps',
];

/**
 * What every management function needs for the access check (`functions/services/access-control.ts`):
 * read the caller's bindings, elevation and organization (GetItem, Query on one partition), and
 * audit each refusal (PutItem on the audit table).
 */
export const ACCESS_CHECK: readonly Access[] = ['admin:get', 'admin:query', 'audit:write'];

// Every management route answers 503 while the apiKeys.enabled flag is off, and checks its caller.
const management = (name: string, file: string, access: Access[]): FunctionDeclaration => ({
  name,
  entry: `functions/handlers/management/${file}.ts`,
  access: [...new Set([...access, ...ACCESS_CHECK])],
  // consoleOrigin: the management kit answers the hosted console's origin with CORS headers.
  settings: ['apiKeysEnabled', 'policyRules', 'auditRetentionDays', 'consoleOrigin'],
});

/** `fn` with more settings than `management` gives it. */
const withSettings = (fn: FunctionDeclaration, more: readonly Setting[]): FunctionDeclaration => ({
  ...fn,
  settings: [...new Set([...(fn.settings ?? []), ...more])],
});

/** Management functions: one per operation, so each holds only the grants its operation needs. */
export const functions = {
  createKey: management('CreateKey', 'create-key', ['keys:write', 'kms:encrypt', 'apis:get']),
  // Every function that answers with a key record reads its live use (last use, quota left):
  // `counters:query`, one small Query per key (docs/management-api.md).
  listKeys: management('ListKeys', 'list-keys', ['keys:query', 'counters:query']),
  listScopes: management('ListScopes', 'list-scopes', []),
  keyOverview: management('KeyOverview', 'key-overview', ['counters:query', 'keys:get']),
  exportKeys: management('ExportKeys', 'export-keys', ['keys:query', 'counters:query']),
  getKey: management('GetKey', 'get-key', ['keys:get', 'kms:decrypt', 'counters:query']),
  updateKey: management('UpdateKey', 'update-key', [
    'keys:get',
    'keys:write',
    'kms:encrypt',
    'kms:decrypt',
    'counters:query',
    'apis:get',
  ]),
  rotateKey: management('RotateKey', 'rotate-key', ['keys:get', 'keys:write', 'counters:query']),
  revokeKey: management('RevokeKey', 'revoke-key', ['keys:get', 'keys:write', 'counters:query']),
  getUsage: management('GetKeyUsage', 'get-usage', ['keys:get', 'counters:query']),
  getKeyAudit: management('GetKeyAudit', 'get-key-audit', ['keys:get', 'audit:query']),
  listAudit: management('ListAudit', 'list-audit', ['audit:query']),
  // The built-in registration is answered from the settings it is made of (docs/protecting-apis.md).
  listApis: withSettings(management('ListApis', 'list-apis', ['apis:query']), builtInApi),
  getApi: withSettings(management('GetApi', 'get-api', ['apis:get']), builtInApi),
  // The registration, its module claims and its audit entry are one transaction.
  putApi: withSettings(management('PutApi', 'put-api', ['apis:get', 'apis:write', 'audit:write']), [
    'accountId',
  ]),
  // The authorizer's decision for any front door: same access and settings, and no feature flag
  // (keys keep validating while management is switched off).
  verifyKey: {
    name: 'VerifyKey',
    entry: 'functions/handlers/management/verify-key.ts',
    // And the access check's gate: every /v1 caller is a bound principal (docs/tenancy.md).
    access: [...new Set<Access>(['keys:get', 'apis:get', 'counters:write', 'audit:write', ...ACCESS_CHECK])],
    settings: [...decisionSettings, 'consoleOrigin'],
  },
  // Tenancy (docs/tenancy.md): one function per family of routes, each with the writes its family makes.
  organizations: management('Organizations', 'organizations', ['admin:write']),
  adminBindings: management('AdminBindings', 'admin-bindings', ['admin:write', 'admin:delete']),
  rootMode: management('RootMode', 'root-mode', ['admin:write']),
  // The caller's own bindings and root-mode state: only what the access check reads.
  me: management('Me', 'me', []),
  /** Creates the `default` organization and the configured super admins' bindings, if absent. */
  seedAdmin: {
    name: 'SeedAdmin',
    entry: 'functions/handlers/seed-admin.ts',
    access: ['admin:write', 'audit:write'],
    settings: ['superAdmins', 'auditRetentionDays'],
    timeoutSeconds: 60,
  },
  demo: { name: 'Demo', entry: 'functions/handlers/demo.ts', access: [] },
  authorizer: {
    name: 'Authorizer',
    entry: 'functions/handlers/authorizer.ts',
    access: ['keys:get', 'apis:get', 'counters:write', 'audit:write'],
    settings: decisionSettings,
    memoryMb: 512,
    timeoutSeconds: 5,
  },
  auditConsumer: {
    name: 'AuditConsumer',
    entry: 'functions/handlers/audit-consumer.ts',
    // counters: the registry's aggregates, kept current from the same records (docs/analytics.md).
    access: ['audit:write', 'events:put', 'counters:get', 'counters:write'],
    settings: ['auditRetentionDays'],
    timeoutSeconds: 60,
  },
  expiryScanner: {
    name: 'ExpiryScanner',
    entry: 'functions/handlers/expiry-scanner.ts',
    access: ['keys:query', 'counters:write', 'events:put'],
    settings: ['expiryThresholdsDays'],
    timeoutSeconds: 300,
  },
  suspicionNotifier: {
    name: 'SuspicionNotifier',
    entry: 'functions/handlers/suspicion-notifier.ts',
    // The authorizer notes suspicious keys in the counters table; this turns each note into an
    // audit entry and an ApiKeySuspicious event (the authorizer bundles no EventBridge client).
    access: ['counters:query', 'counters:write', 'audit:write', 'events:put'],
    settings: ['auditRetentionDays'],
    timeoutSeconds: 60,
  },
  rotator: {
    name: 'Rotator',
    entry: 'functions/handlers/rotator.ts',
    // No events:put: ApiKeyRotated comes from the stream, like every committed change.
    access: ['keys:query', 'keys:get', 'keys:write', 'secrets:write'],
    timeoutSeconds: 300,
  },
} as const satisfies Record<string, FunctionDeclaration>;

const iam = { type: 'iam' } as const;
const scope = (s: string): RouteAuth => ({ type: 'latchkey', scope: s });

/** Every route of the REST API. Static paths before parameterised siblings (the local gateway matches in order). */
export const routes: readonly RouteDeclaration[] = [
  { method: 'POST', path: '/v1/api-keys', auth: iam, fn: functions.createKey },
  { method: 'GET', path: '/v1/api-keys', auth: iam, fn: functions.listKeys },
  { method: 'GET', path: '/v1/api-keys/scopes', auth: iam, fn: functions.listScopes },
  { method: 'GET', path: '/v1/api-keys/overview', auth: iam, fn: functions.keyOverview },
  { method: 'GET', path: '/v1/api-keys/export', auth: iam, fn: functions.exportKeys },
  { method: 'GET', path: '/v1/api-keys/{id}', auth: iam, fn: functions.getKey },
  { method: 'PATCH', path: '/v1/api-keys/{id}', auth: iam, fn: functions.updateKey },
  { method: 'DELETE', path: '/v1/api-keys/{id}', auth: iam, fn: functions.revokeKey },
  { method: 'POST', path: '/v1/api-keys/{id}/rotate', auth: iam, fn: functions.rotateKey },
  { method: 'GET', path: '/v1/api-keys/{id}/usage', auth: iam, fn: functions.getUsage },
  { method: 'GET', path: '/v1/api-keys/{id}/audit', auth: iam, fn: functions.getKeyAudit },
  { method: 'GET', path: '/v1/audit', auth: iam, fn: functions.listAudit },
  { method: 'GET', path: '/v1/apis', auth: iam, fn: functions.listApis },
  { method: 'GET', path: '/v1/apis/{api}', auth: iam, fn: functions.getApi },
  { method: 'PUT', path: '/v1/apis/{api}', auth: iam, fn: functions.putApi },
  { method: 'POST', path: '/v1/keys/verify', auth: iam, fn: functions.verifyKey },
  { method: 'POST', path: '/v1/organizations', auth: iam, fn: functions.organizations },
  { method: 'GET', path: '/v1/organizations', auth: iam, fn: functions.organizations },
  { method: 'GET', path: '/v1/organizations/{org}', auth: iam, fn: functions.organizations },
  { method: 'PATCH', path: '/v1/organizations/{org}', auth: iam, fn: functions.organizations },
  { method: 'GET', path: '/v1/organizations/{org}/policy', auth: iam, fn: functions.organizations },
  { method: 'PUT', path: '/v1/organizations/{org}/policy', auth: iam, fn: functions.organizations },
  { method: 'POST', path: '/v1/organizations/{org}/workspaces', auth: iam, fn: functions.organizations },
  { method: 'GET', path: '/v1/organizations/{org}/workspaces', auth: iam, fn: functions.organizations },
  {
    method: 'GET',
    path: '/v1/organizations/{org}/workspaces/{workspace}',
    auth: iam,
    fn: functions.organizations,
  },
  {
    method: 'PATCH',
    path: '/v1/organizations/{org}/workspaces/{workspace}',
    auth: iam,
    fn: functions.organizations,
  },
  { method: 'GET', path: '/v1/admin-bindings', auth: iam, fn: functions.adminBindings },
  { method: 'PUT', path: '/v1/admin-bindings', auth: iam, fn: functions.adminBindings },
  { method: 'DELETE', path: '/v1/admin-bindings/{binding}', auth: iam, fn: functions.adminBindings },
  { method: 'POST', path: '/v1/root-mode', auth: iam, fn: functions.rootMode, mfa: true },
  { method: 'GET', path: '/v1/root-mode', auth: iam, fn: functions.rootMode },
  { method: 'DELETE', path: '/v1/root-mode', auth: iam, fn: functions.rootMode },
  { method: 'GET', path: '/v1/me', auth: iam, fn: functions.me },
  { method: 'GET', path: '/demo/agents', auth: scope('agents:read'), fn: functions.demo },
  { method: 'POST', path: '/demo/agents', auth: scope('agents:write'), fn: functions.demo },
  { method: 'POST', path: '/demo/agents/{id}/execute', auth: scope('agents:execute'), fn: functions.demo },
  { method: 'GET', path: '/demo/metrics', auth: scope('metrics:read'), fn: functions.demo },
];

/** The keys table's stream feeds the audit consumer with these settings (on AWS and in the local poller). */
export const streamConsumer = {
  table: 'keys' as TableId,
  fn: functions.auditConsumer,
  batchSize: 25,
  maxBatchingWindowSeconds: 1,
  retryAttempts: 5,
  bisectBatchOnError: true,
  reportBatchItemFailures: true,
};

export interface ScheduleDeclaration {
  readonly fn: FunctionDeclaration;
  /** How often it runs on AWS. */
  readonly everyMinutes: number;
  /** How often the local scheduler runs it. */
  readonly localEverySeconds: number;
}

/**
 * Run once per deploy (a CloudFormation custom resource on AWS) and on every local start: creates
 * what must exist before anyone can be authorized (docs/tenancy.md#seeding). Idempotent.
 */
export const seed = { fn: functions.seedAdmin };

export const schedules: readonly ScheduleDeclaration[] = [
  { fn: functions.expiryScanner, everyMinutes: 60, localEverySeconds: 30 },
  { fn: functions.rotator, everyMinutes: 60, localEverySeconds: 30 },
  { fn: functions.suspicionNotifier, everyMinutes: 1, localEverySeconds: 5 },
];

/**
 * The routes a stack serves: every declared route, without the demo routes (the `latchkey` ones)
 * when `latchkey:demoRoutes` is off (docs/configuration.md).
 */
export function servedRoutes(options: { readonly demoRoutes: boolean }): readonly RouteDeclaration[] {
  return options.demoRoutes ? routes : routes.filter((r) => r.auth.type !== 'latchkey');
}

/** `{ "GET /demo/agents": "agents:read", ... }`: what the authorizer needs to know about its API. */
export type RouteScopeMap = Readonly<Record<string, string>>;

export function routeScopeMap(rs: readonly RouteDeclaration[] = routes): RouteScopeMap {
  const map: Record<string, string> = {};
  for (const r of rs) if (r.auth.type === 'latchkey') map[`${r.method} ${r.path}`] = r.auth.scope;
  return map;
}

/** Every distinct function behind a route, once. */
export function routeFunctions(rs: readonly RouteDeclaration[] = routes): FunctionDeclaration[] {
  return [...new Map(rs.map((r) => [r.fn.name, r.fn])).values()];
}
