/** Scheduled every minute: sends the audit entry and `ApiKeySuspicious` event of each key the authorizer noted. */
import type { Context, ScheduledEvent } from 'aws-lambda';
import { notifySuspiciousKeys } from '../services/suspicion';
import { logger } from '../shared/logger';
import { traced } from '../shared/tracer';

async function handle(
  _event?: ScheduledEvent,
  context?: Context,
): Promise<{ notified: number; failed: number }> {
  if (context) logger.addContext(context);
  const result = await notifySuspiciousKeys(new Date());
  const summary = { notified: result.notified.length, failed: result.failed.length };
  if (summary.notified || summary.failed) logger.info('Suspicious keys notified', summary);
  // A failed notice stays pending and is retried next run; failing the run makes the schedule's alarm see it.
  if (result.failed.length)
    throw new Error(`${result.failed.length} suspicious key notice(s) could not be sent`);
  return summary;
}

export const handler = traced(handle);
