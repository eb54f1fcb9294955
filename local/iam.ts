/**
 * Local IAM: a function may call AWS only as its declared `access` allows, so a missing grant fails
 * here instead of after deploy. The grants are `ACCESS_GRANTS` (`lib/access-model.ts`), the very data
 * CDK makes the roles' policies of; this module only evaluates them.
 *
 * `localLambdas` runs each invocation inside `asFunction(...)` (an AsyncLocalStorage context), and a
 * middleware on the functions' own SDK clients checks every command against the current function's
 * grants, failing it as AWS does (`AccessDeniedException`). Calls outside any invocation are not
 * checked: tests seeding data, the stack's own setup, and the stream poller's reads (on AWS those are
 * the Lambda service's, not the function's; the poller also uses its own clients).
 *
 * Evaluated like the policies CDK writes: an action on a resource ARN, allowed when a grant lists
 * the action and a resource matching the ARN (a trailing `*` is a prefix), plus the one condition
 * Latchkey uses (the KMS encryption context must name `METADATA_CONTEXT_KEY`).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { resolve } from 'node:path';
import { ACCESS_GRANTS, type Grant, METADATA_CONTEXT_KEY, ROTATION_SECRET_PREFIX } from '../lib/access-model';
import { type Access, type FunctionDeclaration, tables } from '../lib/declaration';
import { RESOURCES } from '../lib/function-environment';
import { LOCAL_ACCOUNT_ID } from './credentials';

export type Service = Grant['service'];

/**
 * Every SDK client the functions create (at module scope), by module and export, with the service
 * prefix IAM names its actions by. `test/local/iam.test.ts` checks that no client in `functions/` is
 * missing here: an unlisted client would go unchecked.
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

export interface Invocation {
  readonly fn: FunctionDeclaration;
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
      const indexes = grant.indexes ? tables[grant.table].indexes.map((i) => `${table}/index/${i.name}`) : [];
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

/** What IAM evaluates for one SDK command (`operation` = command name without `Command`). */
export function requestsOf(service: Service, operation: string, input: Input, region: string): AwsRequest[] {
  const a = arns(region);
  const action = `${service}:${operation}`;
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  switch (service) {
    case 'dynamodb': {
      if (operation === 'BatchGetItem' || operation === 'BatchWriteItem') {
        return Object.keys((input.RequestItems ?? {}) as Input).map((t) => ({
          action,
          resource: a.table(t),
        }));
      }
      if (operation === 'TransactGetItems' || operation === 'TransactWriteItems') {
        return ((input.TransactItems ?? []) as Input[]).flatMap((item) =>
          Object.entries(item).map(([kind, op]) => ({
            action: TRANSACT_ITEM_ACTIONS[kind] ?? `dynamodb:${kind}`,
            resource: a.table(str((op as Input).TableName) ?? '*'),
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
          contextKeys: Object.keys((input.EncryptionContext ?? {}) as Input),
        },
      ];
    case 'events':
      if (operation === 'PutEvents') {
        return ((input.Entries ?? []) as Input[]).map((e) => ({
          action,
          resource: a.bus(str(e.EventBusName) ?? 'default'),
        }));
      }
      return [{ action, resource: '*' }];
    case 'secretsmanager': {
      const id = str(input.SecretId);
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

/** Throws what AWS answers when `invocation.fn`'s role lacks any of `requests`, and logs it. */
export function check(invocation: Invocation, requests: readonly AwsRequest[]): void {
  const { fn, region, log } = invocation;
  const denied = requests.find((r) => !isAllowed(fn.access, r, region));
  if (!denied) return;
  // On AWS the role is the function's and the session is named after the function.
  const role = `latchkey-local-${fn.name}`;
  log(
    `IAM: ${fn.name} denied ${denied.action} on ${denied.resource} (declared access: ${fn.access.join(', ') || 'none'})`,
  );
  throw new AccessDeniedException(
    `User: arn:aws:sts::${LOCAL_ACCOUNT_ID}:assumed-role/${role}/${role} is not authorized to perform: ` +
      `${denied.action} on resource: ${denied.resource} because no identity-based policy allows the ${denied.action} action`,
  );
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
}

/**
 * Adds the check to every client in `FUNCTION_CLIENTS` (once). Required lazily, like the handlers:
 * the clients read their endpoints from the env the stack sets when created.
 */
export function enforceOnFunctionClients(): void {
  for (const { module, client: name, service } of FUNCTION_CLIENTS) {
    const client = (require(resolve(__dirname, '..', module)) as Record<string, SdkClient>)[name];
    if (!client) throw new Error(`${module} does not export its SDK client as \`${name}\``);
    if (client.middlewareStack.identify().some((m) => m.startsWith(MIDDLEWARE))) continue;
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
