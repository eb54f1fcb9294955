/**
 * Several authorizer instances in separate processes against the same DynamoDB Local: what an
 * exactness test needs to show that limits hold across Lambda execution environments, which share
 * nothing but the tables. Each child inherits this process's environment (tables, endpoint).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import type { BurstRequest, BurstResult } from './authorizer-process';

export interface AuthorizerProcesses {
  /** Sends each process its request at once and sums what they decided. */
  burst(request: BurstRequest): Promise<BurstResult>;
  stop(): void;
}

function next<T>(child: ChildProcess): Promise<T> {
  return new Promise((ok, fail) => {
    const onExit = (code: number | null) => fail(new Error(`authorizer process exited (${code})`));
    child.once('exit', onExit);
    child.once('message', (m) => {
      child.off('exit', onExit);
      ok(m as T);
    });
  });
}

export async function forkAuthorizers(count: number): Promise<AuthorizerProcesses> {
  const children = Array.from({ length: count }, () =>
    fork(join(__dirname, 'authorizer-process.ts'), [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    }),
  );
  try {
    await Promise.all(children.map((c) => next<string>(c)));
  } catch (error) {
    for (const c of children) c.kill();
    throw error;
  }
  return {
    async burst(request) {
      const answers = children.map((c) => next<BurstResult>(c));
      for (const c of children) c.send(request);
      const results = await Promise.all(answers);
      return {
        allowed: results.reduce((n, r) => n + r.allowed, 0),
        denied: results.reduce((n, r) => n + r.denied, 0),
        unauthorized: results.reduce((n, r) => n + r.unauthorized, 0),
        reasons: results.flatMap((r) => r.reasons),
      };
    },
    stop() {
      for (const c of children) c.kill();
    },
  };
}
