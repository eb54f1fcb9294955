/**
 * One authorizer instance in a process of its own, as a Lambda execution environment is: it loads
 * the real handler with the environment it was started with, says `ready`, and for each request
 * message calls the handler `count` times at once, answering with what each call decided.
 * Started by `forkAuthorizers` (`authorizer-processes.ts`).
 */
import { handler } from '../../functions/handlers/authorizer';
import { authorizerEvent } from './events';

export interface BurstRequest {
  readonly token: string;
  readonly count: number;
  readonly sourceIp?: string;
}

export interface BurstResult {
  readonly allowed: number;
  readonly denied: number;
  readonly unauthorized: number;
  /** `context.reason` of each Deny. */
  readonly reasons: string[];
}

process.on('message', (message: BurstRequest) => {
  void Promise.all(
    Array.from({ length: message.count }, () =>
      handler(
        authorizerEvent('GET', '/demo/agents', {
          token: message.token,
          ...(message.sourceIp ? { sourceIp: message.sourceIp } : {}),
        }),
      ).then(
        (r) => ({
          effect: (r.policyDocument.Statement[0] as { Effect: string }).Effect,
          reason: String(r.context?.reason ?? ''),
        }),
        () => ({ effect: 'Unauthorized', reason: '' }),
      ),
    ),
  ).then((outcomes) => {
    const result: BurstResult = {
      allowed: outcomes.filter((o) => o.effect === 'Allow').length,
      denied: outcomes.filter((o) => o.effect === 'Deny').length,
      unauthorized: outcomes.filter((o) => o.effect === 'Unauthorized').length,
      reasons: outcomes.filter((o) => o.effect === 'Deny').map((o) => o.reason),
    };
    process.send?.(result);
  });
});

process.send?.('ready');
