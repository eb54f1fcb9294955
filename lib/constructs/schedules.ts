import type { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { Construct } from 'constructs';
import { DeadLetterQueue } from './dead-letter-queue';

export interface ScheduledFunction {
  /** Names the rule (the declared function name). */
  readonly name: string;
  readonly function: lambda.IFunction;
  /** How often it runs. */
  readonly every: Duration;
}

export interface SchedulesProps {
  readonly schedules: readonly ScheduledFunction[];
  /**
   * Retries after a failed run before the event goes to the dead-letter queue. The lifecycle
   * handlers are idempotent and the next run comes anyway, so a couple is enough.
   * @default 2
   */
  readonly retryAttempts?: number;
}

/**
 * Scheduled rules for the lifecycle functions (expiry scan, rotation). Two ways a run can fail, one
 * dead-letter queue for both: EventBridge cannot deliver (target DLQ), or the function fails
 * after Lambda's own retries (async on-failure destination).
 */
export class Schedules extends Construct {
  readonly deadLetterQueue: DeadLetterQueue;
  readonly rules: events.Rule[] = [];

  constructor(scope: Construct, id: string, props: SchedulesProps) {
    super(scope, id);
    const retryAttempts = props.retryAttempts ?? 2;
    this.deadLetterQueue = new DeadLetterQueue(this, 'DeadLetters', { purpose: 'a scheduled run' });
    const dlq = this.deadLetterQueue.queue;

    for (const s of props.schedules) {
      s.function.configureAsyncInvoke({ retryAttempts, onFailure: new SqsDestination(dlq) });
      const rule = new events.Rule(this, s.name, {
        description: `Latchkey: runs ${s.name} every ${s.every.toHumanString()}`,
        schedule: events.Schedule.rate(s.every),
      });
      rule.addTarget(
        new targets.LambdaFunction(s.function, {
          retryAttempts,
          // A run older than its interval is superseded by the next one.
          maxEventAge: s.every,
          deadLetterQueue: dlq,
        }),
      );
      this.rules.push(rule);
    }
  }
}
