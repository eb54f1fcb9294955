/** Scheduled: rotates keys whose rotation policy is due, staging each new token in its destination first. */
import type { Context, ScheduledEvent } from 'aws-lambda';
import { rotateDueKeys } from '../services/lifecycle';
import { logger } from '../shared/logger';
import { traced } from '../shared/tracer';

async function handle(
  _event?: ScheduledEvent,
  context?: Context,
): Promise<{ rotated: number; skipped: number; failed: number }> {
  if (context) logger.addContext(context);
  const result = await rotateDueKeys(new Date());
  const summary = {
    rotated: result.rotated.length,
    skipped: result.skipped.length,
    failed: result.failed.length,
  };
  logger.info('Scheduled rotation done', summary);
  // Failed rotations rotated nothing (or were undone) and will be retried; failing the run lets the
  // schedule's alarm see them.
  if (result.failed.length) throw new Error(`${result.failed.length} rotation(s) failed`);
  return summary;
}

export const handler = traced(handle);
