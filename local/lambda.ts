/**
 * Runs declared functions in-process: each `fn.entry` is required once, lazily, and its `handler`
 * called with a Lambda-like context and the function's declared timeout, as that function's role for
 * local IAM (`iam.ts`): its AWS calls are signed with the role's keys and may do only what its
 * declared `access` allows.
 */
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import type { Context } from 'aws-lambda';
import type { FunctionDeclaration } from '../lib/declaration';
import { LOCAL_ACCOUNT_ID } from './credentials';
import { asFunction, enforceOnFunctionClients, type LocalRoles, localRoles } from './iam';

export const REPO_ROOT = resolve(__dirname, '..');

type Handler = (event: unknown, context: Context) => unknown;

export class LambdaTimeoutError extends Error {}

export interface LocalLambdas {
  /** The roles the functions run as (the local AWS endpoints must know the same ones). */
  readonly roles: LocalRoles;
  invoke(fn: FunctionDeclaration, event: unknown, options?: { timeoutMs?: number }): Promise<unknown>;
}

function context(fn: FunctionDeclaration, region: string, deadline: number): Context {
  const functionName = `latchkey-local-${fn.name}`;
  const unsupported = () => {
    throw new Error('Callback-style completion is not supported; return a promise');
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:${LOCAL_ACCOUNT_ID}:function:${functionName}`,
    memoryLimitInMB: String(fn.memoryMb ?? 256),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `local/${randomUUID()}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}

/**
 * `log` gets one line per call local IAM denies here (the local stack passes its own log); `roles`
 * default to keys made now, which no running stack knows (fine for functions that call no AWS endpoint).
 */
export function localLambdas(
  region = 'us-east-1',
  log: (line: string) => void = (line) => console.error(`[local] ${line}`),
  roles: LocalRoles = localRoles(),
): LocalLambdas {
  const loaded = new Map<string, Handler>();

  function load(fn: FunctionDeclaration): Handler {
    const existing = loaded.get(fn.name);
    if (existing) return existing;
    // require, not import(): the project is CommonJS and Jest's module registry understands require.
    const mod = require(resolve(REPO_ROOT, fn.entry)) as { handler?: unknown };
    if (typeof mod.handler !== 'function') throw new Error(`${fn.entry} does not export a handler function`);
    const handler = mod.handler as Handler;
    enforceOnFunctionClients();
    loaded.set(fn.name, handler);
    return handler;
  }

  return {
    roles,
    async invoke(fn, event, options = {}) {
      const timeoutMs = options.timeoutMs ?? (fn.timeoutSeconds ?? 10) * 1000;
      const handler = load(fn);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new LambdaTimeoutError(`${fn.name} timed out after ${timeoutMs} ms`)),
          timeoutMs,
        );
      });
      try {
        return await Promise.race([
          Promise.resolve(
            asFunction({ fn, role: roles.of(fn), region, log }, () =>
              handler(event, context(fn, region, Date.now() + timeoutMs)),
            ),
          ),
          timeout,
        ]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
