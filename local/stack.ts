/**
 * The whole local stack in one call, usable in-process from tests and from `npm start`:
 * DynamoDB Local (or an existing one), the declared tables, the local KMS / EventBridge /
 * Secrets Manager endpoints, and the gateway serving every declared route. Handlers are the same
 * code as on AWS; they only see different `AWS_ENDPOINT_URL_<SERVICE>` values.
 *
 * The environment is process-wide and SDK clients are created once per module, so run one stack
 * per process at a time (one per Jest test file).
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DynamoDBClient, GetItemCommand, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { SeedInput } from '../functions/services/tenancy';
import { type LatchkeyConfig, readLocalConfig } from '../lib/config';
import { functions, seed, servedRoutes, type TableId, tables as tableDeclarations } from '../lib/declaration';
import { LATCHKEY_GATEWAY_RESPONSES } from '../lib/gateway-responses';
import { consoleResponder } from './console';
import {
  generateCredentials,
  type LocalCredentials,
  type LocalPrincipal,
  loadOrCreateCredentials,
} from './credentials';
import { assertPortFree, type DynamoDbLocal, startDynamoDbLocal } from './dynamodb';
import { type LocalFunctionEnvironment, localFunctionEnvironment } from './environment';
import { type LocalEvent, localEventBridge } from './eventbridge';
import { type Gateway, startGateway } from './gateway';
import { awsCallers, localRoles } from './iam';
import { localKms } from './kms';
import { type LocalLambdas, localLambdas, REPO_ROOT } from './lambda';
import { localSecretsManager } from './secrets-manager';
import { createTables } from './tables';

export const REGION = 'us-east-1';
export const DEFAULT_KMS_KEY_ID = 'alias/latchkey-local';

export interface LocalStackOptions {
  /** Gateway port; 0 picks a free one. @default 3000 */
  readonly port?: number;
  /** @default `.local` under the repository root */
  readonly dataDir?: string;
  /** Keep DynamoDB, KMS key, events and secrets in memory; writes nothing unless asked. */
  readonly inMemory?: boolean;
  /** DynamoDB Local port when we start it; 0 picks a free one. @default 8000 */
  readonly dynamoPort?: number;
  /** Reuse a running DynamoDB Local (e.g. Jest's) instead of starting one. */
  readonly dynamoEndpoint?: string;
  /** @default 'latchkey-local' */
  readonly tablePrefix?: string;
  /**
   * `latchkey:*` settings over those of `cdk.json` (keys without the prefix), e.g.
   * `{ demoApiEnvironment: null }`. @default none: exactly what `cdk.json` says
   */
  readonly config?: Readonly<Record<string, unknown>>;
  /**
   * Principals allowed on IAM routes, the operator and the functions' role keys (local AWS endpoints).
   * Default: `<dataDir>/credentials.json` when persistent, fresh random ones in memory.
   */
  readonly credentials?: LocalCredentials;
  /** Where to write the env the handlers got, for `npm run invoke`. Default `<dataDir>/env.json` unless in memory; false for none. */
  readonly envFile?: string | false;
  /** Take the source IP from `X-Forwarded-For` (tests simulating callers only). */
  readonly trustForwardedFor?: boolean;
  /** Background workers (stream poller, scheduler) started after the gateway, stopped before it. */
  readonly workers?: readonly WorkerFactory[];
  readonly quiet?: boolean;
  /** Serve the admin console built into this directory at `/console/` (docs/console.md). */
  readonly consoleDir?: string;
}

/** What a background worker is given: the same lambdas the gateway runs, and the stack's env. */
export interface WorkerContext {
  readonly lambdas: LocalLambdas;
  readonly env: Readonly<Record<string, string>>;
  readonly dataDir: string | undefined;
  readonly log: (line: string) => void;
}

export interface Worker {
  stop(): Promise<void>;
}

export type WorkerFactory = (context: WorkerContext) => Promise<Worker>;

export interface LocalStack {
  readonly url: string;
  readonly port: number;
  readonly region: string;
  /** The management principals (IAM routes). */
  readonly credentials: readonly LocalPrincipal[];
  /** The identity allowed everything on the local AWS endpoints and `/_local/events` (`credentials.ts`). */
  readonly operator: LocalPrincipal;
  /** Every environment variable the stack set for the handlers. */
  readonly env: Readonly<Record<string, string>>;
  /** The configuration in force (`cdk.json` + `options.config`). */
  readonly config: LatchkeyConfig;
  /** What each function would get on AWS, from the same builder (lib/function-environment.ts). */
  readonly functionEnvironments: LocalFunctionEnvironment['byFunction'];
  /** `{ KEYS_TABLE_NAME: <name>, ... }`: each table's variable and name. */
  readonly tables: Readonly<Record<string, string>>;
  readonly dynamoEndpoint: string;
  readonly lambdas: LocalLambdas;
  events(): LocalEvent[];
  stop(): Promise<void>;
}

/** What `<dataDir>/env.json` holds, for `npm run invoke`. */
export interface EnvFile {
  readonly url: string;
  readonly pid: number;
  readonly env: Record<string, string>;
}

export function defaultDataDir(): string {
  return join(REPO_ROOT, '.local');
}

export function readEnvFile(file: string): EnvFile | undefined {
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as EnvFile) : undefined;
}

async function dynamoAnswers(endpoint: string): Promise<boolean> {
  const client = new DynamoDBClient({
    endpoint,
    region: REGION,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  try {
    await client.send(new ListTablesCommand({ Limit: 1 }), { abortSignal: AbortSignal.timeout(2000) });
    return true;
  } catch {
    return false;
  } finally {
    client.destroy();
  }
}

/**
 * The route map of a registered API, read from the registrations table at each request, as the
 * gateway of the team's own API would route it (docs/protecting-apis.md).
 */
function registeredApiLookup(endpoint: string, table: string) {
  const client = new DynamoDBClient({
    endpoint,
    region: REGION,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const pk = tableDeclarations.apis.partitionKey.name;
  return {
    lookup: async (name: string): Promise<Record<string, string> | undefined> => {
      const out = await client.send(
        new GetItemCommand({ TableName: table, Key: { [pk]: { S: `API#${name}` } }, ConsistentRead: true }),
      );
      return out.Item
        ? ((unmarshall(out.Item).routes as Record<string, string> | undefined) ?? {})
        : undefined;
    },
    close: () => client.destroy(),
  };
}

/** `GET /_local/health`: 200 only while DynamoDB answers. */
export async function health(dynamoEndpoint: string, tables: Record<string, string>) {
  const up = await dynamoAnswers(dynamoEndpoint);
  return {
    status: up ? 200 : 503,
    body: { status: up ? 'ok' : 'unavailable', dynamodb: up ? 'up' : 'down', tables, region: REGION },
  };
}

function setEnv(values: Record<string, string>): () => void {
  const previous = Object.fromEntries(Object.keys(values).map((k) => [k, process.env[k]]));
  Object.assign(process.env, values);
  return () => {
    for (const [k, v] of Object.entries(previous)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

/** The actor of what the local stack seeds for its principals. */
export const LOCAL_SEED_ACTOR = 'latchkey:local-start';

/** The organizations and bindings `principals` name, as the seed takes them. */
export function localSeedInput(principals: readonly LocalPrincipal[]): SeedInput {
  const workspaces = new Map<string, Set<string>>();
  const bindings: NonNullable<SeedInput['bindings']>[number][] = [];
  for (const p of principals) {
    if (!p.binding) continue;
    const { role, organization_id, workspace_ids, root_allowed } = p.binding;
    bindings.push({ principal: p.arn, role, organization_id, workspace_ids, root_allowed });
    if (organization_id) {
      const set = workspaces.get(organization_id) ?? new Set<string>();
      for (const w of workspace_ids ?? []) set.add(w);
      workspaces.set(organization_id, set);
    }
  }
  return {
    organizations: [...workspaces].map(([organization_id, ws]) => ({
      organization_id,
      name: organization_id,
      workspaces: [...ws],
    })),
    bindings,
  };
}

/** Binds the local principals (and creates their organizations) where they are not yet: idempotent. */
async function seedLocalPrincipals(principals: readonly LocalPrincipal[], log: (line: string) => void) {
  // Required now, not imported: the SDK clients read their endpoints from the env set above.
  const tenancy = require('../functions/services/tenancy') as typeof import('../functions/services/tenancy');
  const result = await tenancy.seed({ principal: LOCAL_SEED_ACTOR }, localSeedInput(principals));
  if (result.bindings_created.length) {
    log(`bound ${result.bindings_created.length} local principal(s) to their roles (docs/tenancy.md)`);
  }
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  // One write for several lines (the gateway batches its access log), each line prefixed.
  const log = options.quiet
    ? () => {}
    : (text: string) => console.log(`[local] ${text.replaceAll('\n', '\n[local] ')}`);
  // Validated before anything starts: a bad cdk.json fails here, naming the key.
  const config = readLocalConfig(options.config);
  const dataDir = resolve(options.dataDir ?? defaultDataDir());
  const persistDir = options.inMemory ? undefined : dataDir;
  const port = options.port ?? 3000;
  // Fail before starting anything else when the gateway cannot bind.
  if (port !== 0) await assertPortFree(port, 'the local gateway');

  const cleanups: (() => Promise<void> | void)[] = [];
  const stop = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  };

  try {
    let dynamoEndpoint = options.dynamoEndpoint;
    if (dynamoEndpoint) {
      if (!(await dynamoAnswers(dynamoEndpoint)))
        throw new Error(`DynamoDB Local does not answer on ${dynamoEndpoint}`);
    } else {
      const db: DynamoDbLocal = await startDynamoDbLocal({
        port: options.dynamoPort ?? 8000,
        ...(persistDir ? { dataDir: join(persistDir, 'dynamodb') } : {}),
      });
      cleanups.push(() => db.stop());
      dynamoEndpoint = db.endpoint;
      log(
        `DynamoDB Local on ${db.endpoint}${persistDir ? ` (data in ${join(persistDir, 'dynamodb')})` : ' (in memory)'}`,
      );
    }

    const client = new DynamoDBClient({
      endpoint: dynamoEndpoint,
      region: REGION,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const tableNames = await createTables(client, options.tablePrefix ?? 'latchkey-local').finally(() =>
      client.destroy(),
    );
    const tables = Object.fromEntries(
      (Object.entries(tableNames) as [TableId, string][]).map(([id, name]) => [
        tableDeclarations[id].envVar,
        name,
      ]),
    );

    const kmsKeyId = DEFAULT_KMS_KEY_ID;
    const common = { region: REGION, accountId: '000000000000' };
    const eventBridge = localEventBridge({
      ...common,
      busName: config.eventBusName,
      ...(persistDir ? { file: join(persistDir, 'events.jsonl') } : {}),
    });
    const kms = localKms({
      ...common,
      keyId: kmsKeyId,
      ...(persistDir ? { file: join(persistDir, 'kms.json') } : {}),
    });
    const secrets = localSecretsManager({
      ...common,
      ...(persistDir ? { file: join(persistDir, 'secrets.json') } : {}),
    });
    const {
      principals: credentials,
      operator,
      functions: roleKeys,
    } = options.credentials ??
    (persistDir ? loadOrCreateCredentials(join(persistDir, 'credentials.json')) : generateCredentials());
    // Each function runs as its own role; the AWS endpoints know the same roles (iam.ts).
    const lambdas = localLambdas(REGION, log, localRoles(roleKeys));
    const endpoint = dynamoEndpoint;

    const registered = registeredApiLookup(endpoint, tableNames.apis);
    cleanups.push(() => registered.close());
    const gateway: Gateway = await startGateway({
      port,
      region: REGION,
      routes: servedRoutes(config),
      authorizer: functions.authorizer,
      registeredApi: registered.lookup,
      echo: functions.demo,
      principals: () => credentials,
      lambdas,
      awsServices: [kms, eventBridge, secrets],
      awsCallers: awsCallers({ principals: credentials, operator, roles: lambdas.roles }),
      trustForwardedFor: options.trustForwardedFor === true,
      // The same answers to refusals as the AWS stack's (lib/gateway-responses.ts).
      gatewayResponses: LATCHKEY_GATEWAY_RESPONSES,
      log,
      localEndpoints: {
        health: () => health(endpoint, tables),
      },
      ...(options.consoleDir
        ? {
            console: consoleResponder({
              dir: options.consoleDir,
              region: REGION,
              principals: () => credentials,
            }),
          }
        : {}),
      operatorEndpoints: {
        events: { service: 'events', answer: async () => ({ status: 200, body: eventBridge.events() }) },
      },
    });
    cleanups.push(() => gateway.close());

    // Set synchronously after listen: no request can reach a handler before this.
    const handlerEnv = localFunctionEnvironment(
      { tables: tableNames, kmsKeyId, eventBusName: config.eventBusName },
      config,
    );
    const env: Record<string, string> = {
      ...handlerEnv.merged,
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_DYNAMODB: dynamoEndpoint,
      AWS_ENDPOINT_URL_DYNAMODB_STREAMS: dynamoEndpoint,
      AWS_ENDPOINT_URL_KMS: gateway.url,
      AWS_ENDPOINT_URL_EVENTBRIDGE: gateway.url,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: gateway.url,
    };
    cleanups.push(setEnv(env));
    // This process's own AWS identity: calls made outside any function (tests seeding data, the
    // stack's setup) sign as the operator. `env` and env.json keep the placeholder keys (all
    // DynamoDB Local needs): the operator's keys are written to credentials.json only.
    cleanups.push(
      setEnv({
        AWS_ACCESS_KEY_ID: operator.access_key_id,
        AWS_SECRET_ACCESS_KEY: operator.secret_access_key,
      }),
    );

    const envFile = options.envFile ?? (persistDir ? join(dataDir, 'env.json') : false);
    if (envFile) {
      mkdirSync(resolve(envFile, '..'), { recursive: true });
      writeFileSync(
        envFile,
        `${JSON.stringify({ url: gateway.url, pid: process.pid, env } satisfies EnvFile, null, 2)}\n`,
      );
      cleanups.push(() => {
        if (readEnvFile(envFile)?.pid === process.pid) rmSync(envFile, { force: true });
      });
    }

    // What a deploy seeds (the default organization, latchkey:superAdmins), by the same function,
    // then the bindings of the local principals (docs/tenancy.md#seeding).
    await lambdas.invoke(seed.fn, {});
    await seedLocalPrincipals(credentials, log);

    for (const factory of options.workers ?? []) {
      const worker = await factory({ lambdas, env, dataDir: persistDir, log });
      cleanups.push(() => worker.stop());
    }

    return {
      url: gateway.url,
      port: gateway.port,
      region: REGION,
      credentials,
      operator,
      env,
      config,
      functionEnvironments: handlerEnv.byFunction,
      tables,
      dynamoEndpoint,
      lambdas,
      events: () => eventBridge.events(),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
