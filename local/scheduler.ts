/**
 * The local stand-in for the EventBridge schedule rules: runs each declared schedule's function every
 * `localEverySeconds` with the event a scheduled rule delivers. A run never overlaps the previous
 * one of the same function; a failure is logged and the next tick tries again, as on AWS.
 */
import { randomUUID } from 'node:crypto';
import type { ScheduledEvent } from 'aws-lambda';
import {
  schedules as declared,
  type FunctionDeclaration,
  type ScheduleDeclaration,
} from '../lib/declaration';
import { LOCAL_ACCOUNT_ID } from './credentials';
import type { WorkerFactory } from './stack';

export function scheduledEvent(fn: FunctionDeclaration, region: string, now = new Date()): ScheduledEvent {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: LOCAL_ACCOUNT_ID,
    time: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region,
    resources: [`arn:aws:events:${region}:${LOCAL_ACCOUNT_ID}:rule/latchkey-local-${fn.name}`],
    detail: {},
  };
}

export interface SchedulerOptions {
  /** @default `schedules` from the declaration */
  readonly schedules?: readonly ScheduleDeclaration[];
  /** Scale every interval (tests run schedules faster). @default 1 */
  readonly speedup?: number;
}

export function scheduler(options: SchedulerOptions = {}): WorkerFactory {
  return async (ctx) => {
    const region = ctx.env.AWS_REGION ?? 'us-east-1';
    const running = new Map<string, Promise<void>>();
    const timers = (options.schedules ?? declared).map((schedule) => {
      const tick = () => {
        if (running.has(schedule.fn.name)) return;
        const run = ctx.lambdas
          .invoke(schedule.fn, scheduledEvent(schedule.fn, region))
          .then(
            () => undefined,
            (error: unknown) =>
              ctx.log(
                `${schedule.fn.name} failed: ${error instanceof Error ? error.message : String(error)}`,
              ),
          )
          .finally(() => running.delete(schedule.fn.name));
        running.set(schedule.fn.name, run);
      };
      return setInterval(tick, (schedule.localEverySeconds * 1000) / (options.speedup ?? 1));
    });
    ctx.log(
      `scheduler: ${(options.schedules ?? declared).map((s) => `${s.fn.name} every ${s.localEverySeconds}s`).join(', ')}`,
    );
    return {
      async stop() {
        for (const t of timers) clearInterval(t);
        await Promise.all(running.values());
      },
    };
  };
}
