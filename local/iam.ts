/**
 * Local IAM: a function may call AWS only as its declared `access` allows, so a missing grant fails
 * here instead of after deploy. The grants are `ACCESS_GRANTS` (`lib/access-model.ts`), the very data
 * CDK makes the roles' policies of; this module only evaluates them, for both sides:
 *
 * - Each function runs as its own role (`LocalRoles`: keys per declared function, kept in
 *   `credentials.json`). `localLambdas` runs each invocation inside `asFunction(...)` (an
 *   AsyncLocalStorage context), and the functions' module-scope KMS, EventBridge and Secrets Manager
 *   clients sign every request with the current invocation's role keys. The local endpoints
 *   (`aws-json.ts`) verify the signature, find the caller (`awsCallers`) and evaluate its access here;
 *   a denial is AWS's `AccessDeniedException`, from the server, as on AWS.
 * - DynamoDB Local checks nothing, so the functions' DynamoDB client gets a middleware that evaluates
 *   each command here before it is sent.
 *
 * Outside any invocation (tests seeding data, the stack's own setup) the functions' clients sign
 * with the environment's keys: the stack's operator, allowed everything on the local endpoints.
 * Management principals are allowed nothing there. The stream poller's reads use its own clients (on
 * AWS those are the Lambda service's, not the function's).
 *
 * Evaluated like the policies CDK writes: an action on a resource ARN, allowed when a grant lists
 * the action and a resource matching the ARN (a trailing `*` is a prefix), plus the one condition
 * Latchkey uses (the KMS encryption context must name `METADATA_CONTEXT_KEY`).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { resolve } from 'node:path';
import { ACCESS_GRANTS, type Grant, METADATA_CONTEXT_KEY, ROTATION_SECRET_PREFIX } from '../lib/access-model';
import {
  type Access,
  type FunctionDeclaration,
  functions,
  indexesOf,
  tableDeclaration,
  tables,
} from '../lib/declaration';
import { RESOURCES } from '../lib/function-environment';
import { type AccessKeys, accessKeys, LOCAL_ACCOUNT_ID, type LocalPrincipal } from './credentials';
import type { SigningPrincipal } from './sigv4';

export type Service = Grant['service'];

/**
 * Every SDK client the functions create (at module scope), by module and export, with the service
 * prefix IAM names its actions by. `test/local/iam.test.ts` checks that no client in `functions/` is
 * missing here: an unlisted client would sign with the environment's (the operator's) keys.
 */
export const FUNCTION_CLIENTS: readonly { module: string; client: string; service: Service }[] = [
  { module: 'functions/shared/clients', client: 'dynamodb', service: 'dynamodb' },
  { module: 'functions/repositories/metadata-cipher', client: 'kms', service: 'kms' },
  { module: 'functions/repositories/event-publisher', client: 'eventBridge', service: 'events' },
  {
    module: 'functions/repositories/secret-destination',
    client: 'secretsManager',
    service: 'secretsmanager',
  },
];

/** A function's role: its declared access, and the long-term keys its calls are signed with. */
export interface LocalRole {
  /** The function's name. */
  readonly name: string;
  readonly access: readonly Access[];
  /** As AWS names a Lambda function's caller: the role, with a session named after the function. */
  readonly arn: string;
  readonly keys: AccessKeys;
}

export interface LocalRoles {
  /**
   * The role `fn` runs as. A declaration the stack was not started with (a test's fixture, a
   * declared function given other access by a test) gets a role of its own, made now, in memory.
   */
  of(fn: FunctionDeclaration): LocalRole;
  byAccessKey(accessKeyId: string): LocalRole | undefined;
}

export function roleArn(functionName: string): string {
  const role = `latchkey-local-${functionName}`;
  return `arn:aws:sts::${LOCAL_ACCOUNT_ID}:assumed-role/${role}/${role}`;
}

/** `keys`: each declared function's role keys, by name (`LocalCredentials.functions`). */
export function localRoles(
  keys: Readonly<Record<string, AccessKeys>> = {},
  declared: readonly FunctionDeclaration[] = Object.values(functions),
): LocalRoles {
  // The access is part of a role's identity: the same name with other access is another role.
  const id = (fn: FunctionDeclaration) => `${fn.name}\n${[...fn.access].sort().join(',')}`;
  const byFunction = new Map<string, LocalRole>();
  const byKey = new Map<string, LocalRole>();
  const add = (fn: FunctionDeclaration, k: AccessKeys): LocalRole => {
    const role: LocalRole = { name: fn.name, access: [...fn.access], arn: roleArn(fn.name), keys: k };
    byFunction.set(id(fn), role);
    byKey.set(k.access_key_id, role);
    return role;
  };
  for (const fn of declared) {
    const k = keys[fn.name];
    if (k) add(fn, k);
  }
  return {
    of: (fn) => byFunction.get(id(fn)) ?? add(fn, accessKeys()),
    byAccessKey: (accessKeyId) => byKey.get(accessKeyId),
  };
}

/** Whoever signed a request to the local AWS endpoints, as IAM evaluates it. */
export interface AwsCaller extends SigningPrincipal {
  /** For the log. */
  readonly name: string;
  /** As AWS names the caller in a denial. */
  readonly arn: string;
  /** A function's declared access; `all` for the operator; none for the management principals. */
  readonly access: readonly Access[] | 'all';
}

/** Every caller the local AWS endpoints know, by access key id. */
export function awsCallers(known: {
  readonly principals: readonly LocalPrincipal[];
  readonly operator: LocalPrincipal;
  readonly roles: LocalRoles;
}): (accessKeyId: string) => AwsCaller | undefined {
  return (accessKeyId) => {
    const role = known.roles.byAccessKey(accessKeyId);
    if (role) return { ...role.keys, name: role.name, arn: role.arn, access: role.access };
    if (known.operator.access_key_id === accessKeyId) return { ...known.operator, access: 'all' };
    // Management principals may call the management API only (execute-api), nothing here.
    const user = known.principals.find((p) => p.access_key_id === accessKeyId);
    return user ? { ...user, access: [] } : undefined;
  };
}

export interface Invocation {
  readonly fn: FunctionDeclaration;
  readonly role: LocalRole;
  readonly region: string;
  /** The local stack's log: one line per denial. */
  readonly log: (line: string) => void;
}

const current = new AsyncLocalStorage<Invocation>();

/** Runs `body` (a handler call and everything it starts) as `invocation.fn`. */
export function asFunction<T>(invocation: Invocation, body: () => T): T {
  return current.run(invocation, body);
}

/** One request as IAM evaluates it. */
export interface AwsRequest {
  readonly action: string;
  /** ARN, or `*` for an operation on no particular resource. */
  readonly resource: string;
  /** `kms:EncryptionContextKeys` of a KMS request. */
  readonly contextKeys?: readonly string[];
}

/** ARNs in the local account, from a name or an ARN as callers pass them. */
function arns(region: string) {
  const arn = (service: string, resource: string) =>
    `arn:aws:${service}:${region}:${LOCAL_ACCOUNT_ID}:${resource}`;
  const or = (id: string, make: () => string) => (id.startsWith('arn:') ? id : make());
  return {
    table: (name: string) => or(name, () => arn('dynamodb', `table/${name}`)),
    key: (id: string) => or(id, () => arn('kms', id.startsWith('alias/') ? id : `key/${id}`)),
    bus: (name: string) => or(name, () => arn('events', `event-bus/${name}`)),
    secret: (id: string) => or(id, () => arn('secretsmanager', `secret:${id}`)),
  };
}

interface Statement {
  readonly actions: readonly string[];
  readonly resources: readonly string[];
  /** `ForAnyValue:StringEquals` on `kms:EncryptionContextKeys`. */
  readonly contextKey?: string;
}

/** The statement CDK writes for `grant`, with the local stack's names (from the env the handlers see). */
function statementOf(grant: Grant, region: string): Statement {
  const a = arns(region);
  switch (grant.service) {
    case 'dynamodb': {
      const table = a.table(
        process.env[tables[grant.table].envVar] ?? `<unset ${tables[grant.table].envVar}>`,
      );
      const indexes = grant.indexes
        ? indexesOf(tableDeclaration(grant.table)).map((i) => `${table}/index/${i.name}`)
        : [];
      return { actions: grant.actions, resources: [table, ...indexes] };
    }
    case 'kms':
      return {
        actions: grant.actions,
        resources: [a.key(process.env[RESOURCES.kmsKeyId.name] ?? '<unset>')],
        contextKey: METADATA_CONTEXT_KEY,
      };
    case 'events':
      return {
        actions: grant.actions,
        resources: [a.bus(process.env[RESOURCES.eventBusName.name] ?? '<unset>')],
      };
    case 'secretsmanager':
      return { actions: grant.actions, resources: [a.secret(`${ROTATION_SECRET_PREFIX}*`)] };
  }
}

export function isAllowed(access: readonly Access[], request: AwsRequest, region: string): boolean {
  return access.some((a) => {
    const s = statementOf(ACCESS_GRANTS[a], region);
    return (
      s.actions.includes(request.action) &&
      s.resources.some((r) =>
        r.endsWith('*') ? request.resource.startsWith(r.slice(0, -1)) : r === request.resource,
      ) &&
      (s.contextKey === undefined || (request.contextKeys ?? []).includes(s.contextKey))
    );
  });
}

type Input = Record<string, unknown>;

/** IAM checks each item of a transaction with that item's own action (there is no Transact* action). */
const TRANSACT_ITEM_ACTIONS: Readonly<Record<string, string>> = {
  Get: 'dynamodb:GetItem',
  Put: 'dynamodb:PutItem',
  Update: 'dynamodb:UpdateItem',
  Delete: 'dynamodb:DeleteItem',
  ConditionCheck: 'dynamodb:ConditionCheckItem',
};

const object = (v: unknown): Input =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Input) : {};
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

/**
 * What IAM evaluates for one SDK command or AWS JSON request (`operation` = the command name without
 * `Command`, or the `X-Amz-Target` operation). The local endpoints pass what a client sent: any shape.
 * Never empty: a request naming no resource (`Entries: []`) is evaluated on `*`, which no grant allows.
 */
export function requestsOf(service: Service, operation: string, input: Input, region: string): AwsRequest[] {
  const action = `${service}:${operation}`;
  const named = namedRequests(service, action, operation, input, region);
  return named.length > 0 ? named : [{ action, resource: '*' }];
}

function namedRequests(
  service: Service,
  action: string,
  operation: string,
  input: Input,
  region: string,
): AwsRequest[] {
  const a = arns(region);
  switch (service) {
    case 'dynamodb': {
      if (operation === 'BatchGetItem' || operation === 'BatchWriteItem') {
        return Object.keys(object(input.RequestItems)).map((t) => ({ action, resource: a.table(t) }));
      }
      if (operation === 'TransactGetItems' || operation === 'TransactWriteItems') {
        return list(input.TransactItems).flatMap((item) =>
          Object.entries(object(item)).map(([kind, op]) => ({
            action: TRANSACT_ITEM_ACTIONS[kind] ?? `dynamodb:${kind}`,
            resource: a.table(str(object(op).TableName) ?? '*'),
          })),
        );
      }
      const table = str(input.TableName);
      const index = str(input.IndexName);
      const resource = table ? a.table(table) : '*';
      return [{ action, resource: index ? `${resource}/index/${index}` : resource }];
    }
    case 'kms':
      return [
        {
          action,
          resource: a.key(str(input.KeyId) ?? process.env[RESOURCES.kmsKeyId.name] ?? '*'),
          contextKeys: Object.keys(object(input.EncryptionContext)),
        },
      ];
    case 'events':
      if (operation === 'PutEvents') {
        return list(input.Entries).map((e) => ({
          action,
          resource: a.bus(str(object(e).EventBusName) || 'default'),
        }));
      }
      return [{ action, resource: '*' }];
    case 'secretsmanager': {
      // CreateSecret names the secret it makes; the others name the secret they act on.
      const id = str(input.SecretId) ?? str(input.Name);
      return [{ action, resource: id ? a.secret(id) : '*' }];
    }
  }
}

/** Shaped like the SDK's service exceptions, so callers classify it as they would AWS's. */
export class AccessDeniedException extends Error {
  override readonly name = 'AccessDeniedException';
  readonly $fault = 'client';
  readonly $metadata = { httpStatusCode: 400 };
}

/** AWS's words for a request no policy allows. */
export function accessDeniedMessage(arn: string, request: AwsRequest): string {
  return (
    `User: ${arn} is not authorized to perform: ${request.action} on resource: ${request.resource} ` +
    `because no identity-based policy allows the ${request.action} action`
  );
}

/** The first of `requests` that `access` does not allow, if any. */
export function deniedRequest(
  access: readonly Access[] | 'all',
  requests: readonly AwsRequest[],
  region: string,
): AwsRequest | undefined {
  if (access === 'all') return undefined;
  return requests.find((r) => !isAllowed(access, r, region));
}

/** The log line for a denial. */
export function deniedLine(name: string, access: readonly Access[], request: AwsRequest): string {
  return `IAM: ${name} denied ${request.action} on ${request.resource} (declared access: ${access.join(', ') || 'none'})`;
}

/** Throws what AWS answers when `invocation.fn`'s role lacks any of `requests`, and logs it. */
export function check(invocation: Invocation, requests: readonly AwsRequest[]): void {
  const { fn, role, region, log } = invocation;
  const denied = deniedRequest(fn.access, requests, region);
  if (!denied) return;
  log(deniedLine(fn.name, fn.access, denied));
  throw new AccessDeniedException(accessDeniedMessage(role.arn, denied));
}

const MIDDLEWARE = 'latchkeyLocalIam';

type Next = (args: { input: unknown }) => Promise<unknown>;
interface SdkClient {
  readonly middlewareStack: {
    add(
      middleware: (next: Next, context: { commandName?: string }) => Next,
      options: { step: 'initialize'; name: string; priority: 'high' },
    ): void;
    identify(): string[];
  };
  readonly config: { credentials: unknown };
}

interface Identity {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/**
 * The credentials of the functions' clients: the current invocation's role, else the environment's
 * keys (the operator's while a local stack runs), read at each call. `memoized` tells the SDK this is
 * already a provider, so it asks it again for every request instead of keeping its first answer.
 */
const invocationCredentials = Object.assign(
  async (): Promise<Identity> => {
    const invocation = current.getStore();
    if (invocation) {
      return {
        accessKeyId: invocation.role.keys.access_key_id,
        secretAccessKey: invocation.role.keys.secret_access_key,
      };
    }
    const accessKeyId = process.env.AWS_ACCESS_KEY_ID;
    const secretAccessKey = process.env.AWS_SECRET_ACCESS_KEY;
    if (!accessKeyId || !secretAccessKey)
      throw new Error('No AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set');
    return { accessKeyId, secretAccessKey };
  },
  { memoized: true },
);

const configured = new WeakSet<object>();

/**
 * Prepares every client in `FUNCTION_CLIENTS` (once): the ones the local endpoints serve sign as the
 * current invocation's role (the endpoint decides), the DynamoDB one checks each command before it is
 * sent (DynamoDB Local would not). Required lazily, like the handlers: the clients read their
 * endpoints from the env the stack sets when created.
 */
export function enforceOnFunctionClients(): void {
  for (const { module, client: name, service } of FUNCTION_CLIENTS) {
    const client = (require(resolve(__dirname, '..', module)) as Record<string, SdkClient>)[name];
    if (!client) throw new Error(`${module} does not export its SDK client as \`${name}\``);
    if (configured.has(client)) continue;
    configured.add(client);
    if (service !== 'dynamodb') {
      client.config.credentials = invocationCredentials;
      continue;
    }
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const invocation = current.getStore();
        if (invocation) {
          const operation = (context.commandName ?? 'Unknown').replace(/Command$/, '');
          check(invocation, requestsOf(service, operation, (args.input ?? {}) as Input, invocation.region));
        }
        return next(args);
      },
      // Before anything else, so a denied call is never retried or sent.
      { step: 'initialize', name: MIDDLEWARE, priority: 'high' },
    );
  }
}
