/**
 * Calling the management handlers the way API Gateway does, for tests that drive them directly:
 * every IAM route of `lib/declaration.ts` with its real handler, an event builder, and a snapshot
 * of the tables a refused request must leave alone.
 */
import { resolve } from 'node:path';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import type {
  APIGatewayProxyEvent,
  APIGatewayProxyResult,
  APIGatewayRequestAuthorizerEvent,
} from 'aws-lambda';
import { dynamodb } from '../../functions/shared/clients';
import { type RouteDeclaration, routes } from '../../lib/declaration';
import { apiEvent, authorizerEvent, lambdaContext } from './events';

type Handler = (e: APIGatewayProxyEvent, c: typeof lambdaContext) => Promise<APIGatewayProxyResult>;

export interface Answer {
  readonly status: number;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field in tests
  readonly body: any;
}

const REPO_ROOT = resolve(__dirname, '../..');

/** The management routes (SigV4), each with its handler loaded from the declared entry. */
export function managementRoutes(): { route: RouteDeclaration; handler: Handler }[] {
  return routes
    .filter((r) => r.auth.type === 'iam')
    .map((route) => ({
      route,
      handler: (require(resolve(REPO_ROOT, route.fn.entry)) as { handler: Handler }).handler,
    }));
}

function handlerFor(method: string, path: string): Handler {
  const found = managementRoutes().find((r) => r.route.method === method && r.route.path === path);
  if (!found) throw new Error(`no management route ${method} ${path}`);
  return found.handler;
}

export async function invoke(handler: Handler, event: APIGatewayProxyEvent): Promise<Answer> {
  const res = await handler(event, lambdaContext);
  return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : undefined };
}

/** `call('POST', '/v1/api-keys/{id}/rotate', { params: { id }, body })`. */
export function call(method: string, path: string, options: Parameters<typeof apiEvent>[2] = {}) {
  return invoke(handlerFor(method, path), apiEvent(method, path, options));
}

let caller = 0;

/**
 * Whether the authorizer (the real handler) lets `token` through to `GET /demo/agents`. Each check
 * comes from a source IP of its own: a test checking that many old tokens fail would otherwise get
 * its one IP cooled down (docs/authorizer.md#junk-and-cool-down), which has tests of its own.
 */
export async function tokenWorks(token: string): Promise<boolean> {
  caller++;
  const sourceIp = `10.${(caller >> 16) & 255}.${(caller >> 8) & 255}.${caller & 255}`;
  // Loaded on first use: it reads the route scopes the stack put in the environment at import.
  const { handler } = require('../../functions/handlers/authorizer') as {
    handler: (e: APIGatewayRequestAuthorizerEvent) => Promise<{ policyDocument: { Statement: unknown[] } }>;
  };
  try {
    const result = await handler(authorizerEvent('GET', '/demo/agents', { token, sourceIp }));
    return (result.policyDocument.Statement[0] as { Effect: string }).Effect === 'Allow';
  } catch {
    return false; // 401
  }
}

/** Every item of the given tables, in a stable order: equal snapshots mean nothing was written. */
export async function snapshot(tableNames: readonly string[]): Promise<string> {
  const tables: Record<string, string[]> = {};
  for (const name of tableNames) {
    const items: string[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await dynamodb.send(
        new ScanCommand({ TableName: name, ConsistentRead: true, ExclusiveStartKey: start as never }),
      );
      items.push(...(out.Items ?? []).map((i) => JSON.stringify(i)));
      start = out.LastEvaluatedKey;
    } while (start);
    tables[name] = items.sort();
  }
  return JSON.stringify(tables);
}

/** The error shape every refusal must have (docs/management-api.md). */
export function hasErrorShape(body: unknown): boolean {
  const error = (body as { error?: Record<string, unknown> } | undefined)?.error;
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof error.code === 'string' &&
    typeof error.message === 'string' &&
    Array.isArray(error.details) &&
    error.details.every(
      (d: unknown) =>
        typeof (d as { field?: unknown }).field === 'string' &&
        typeof (d as { message?: unknown }).message === 'string',
    )
  );
}
