/**
 * X-Ray tracing (functions/shared/tracer.ts): every module-scope SDK client is instrumented inside
 * Lambda, and outside Lambda (Jest, the local stack, a CI runner on ECS or CodeBuild) the tracer is a
 * no-op that touches no client, wraps no handler and prints nothing.
 *
 * Each case loads the functions' modules afresh under the environment it describes, since the
 * tracer reads it once, when created.
 */
import { resolve } from 'node:path';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { FUNCTION_CLIENTS } from '../../local/iam';
import { REPO_ROOT } from '../../local/lambda';
import { useFreshTables } from '../support/tables';

type TracerModule = typeof import('../../functions/shared/tracer');
interface SdkClient {
  readonly middlewareStack: { identify(): string[] };
}

/** The X-Ray SDK's middleware on an instrumented AWS SDK v3 client. */
const XRAY_MIDDLEWARE = 'XRaySDKInstrumentation';

const LAMBDA = {
  AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
  AWS_LAMBDA_FUNCTION_NAME: 'latchkey-Authorizer',
};

/** The tracer module and every module-scope client of `FUNCTION_CLIENTS`, loaded fresh under `env`. */
function loadWith(env: Record<string, string>): {
  tracing: TracerModule;
  clients: Record<string, SdkClient>;
} {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    let loaded: { tracing: TracerModule; clients: Record<string, SdkClient> } | undefined;
    jest.isolateModules(() => {
      loaded = {
        tracing: require('../../functions/shared/tracer') as TracerModule,
        clients: Object.fromEntries(
          FUNCTION_CLIENTS.map((c) => [
            c.client,
            (require(resolve(REPO_ROOT, c.module)) as Record<string, SdkClient>)[c.client] as SdkClient,
          ]),
        ),
      };
    });
    if (!loaded) throw new Error('modules did not load');
    return loaded;
  } finally {
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
  }
}

const instrumented = (clients: Record<string, SdkClient>) =>
  Object.fromEntries(
    Object.entries(clients).map(([name, c]) => [
      name,
      c.middlewareStack.identify().some((m) => m.startsWith(XRAY_MIDDLEWARE)),
    ]),
  );
const every = (value: boolean) => Object.fromEntries(FUNCTION_CLIENTS.map((c) => [c.client, value]));

describe('inside Lambda', () => {
  it('instruments every module-scope SDK client and wraps handlers', () => {
    const { tracing, clients } = loadWith(LAMBDA);
    expect(tracing.tracer.isTracingEnabled()).toBe(true);
    expect(instrumented(clients)).toEqual(every(true));
    const handler = async () => 'ok';
    expect(tracing.traced(handler)).not.toBe(handler);
  });

  it('is off when POWERTOOLS_TRACE_ENABLED=false', () => {
    const { tracing, clients } = loadWith({ ...LAMBDA, POWERTOOLS_TRACE_ENABLED: 'false' });
    expect(tracing.tracer.isTracingEnabled()).toBe(false);
    expect(instrumented(clients)).toEqual(every(false));
  });
});

describe('outside Lambda', () => {
  it.each([
    ['Jest and the local stack', {}],
    // Powertools alone would trace here: ECS (and runners built on it) set AWS_EXECUTION_ENV.
    ['a CI runner on ECS', { AWS_EXECUTION_ENV: 'AWS_ECS_FARGATE' }],
  ])('%s: a no-op that leaves the clients and handlers as they are', (_, env) => {
    const { tracing, clients } = loadWith(env);
    expect(tracing.tracer.isTracingEnabled()).toBe(false);
    expect(instrumented(clients)).toEqual(every(false));
    const handler = async () => 'ok';
    expect(tracing.traced(handler)).toBe(handler);
  });

  it('prints no warning while functions run and call AWS', async () => {
    const tables = await useFreshTables();
    const warn = jest.spyOn(console, 'warn');
    const error = jest.spyOn(console, 'error');
    const stderr = jest.spyOn(process.stderr, 'write');
    try {
      const { tracing, clients } = loadWith({
        AWS_EXECUTION_ENV: 'AWS_ECS_FARGATE',
        // The SDK's own Node.js version notice, which `npm start` turns off too (local/start.ts).
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      });
      const dynamodb = clients.dynamodb as unknown as { send(c: GetCommand): Promise<unknown> };
      const handler = tracing.traced(async () =>
        dynamodb.send(new GetCommand({ TableName: tables.KEYS_TABLE_NAME, Key: { id: 'missing' } })),
      );
      await expect(handler({})).resolves.toBeDefined();
      expect(warn).not.toHaveBeenCalled();
      expect(error).not.toHaveBeenCalled();
      expect(stderr.mock.calls.map((c) => String(c[0]))).toEqual([]);
    } finally {
      warn.mockRestore();
      error.mockRestore();
      stderr.mockRestore();
    }
  });
});
