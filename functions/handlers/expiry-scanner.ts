/** Scheduled: sends ApiKeyExpiring (once per threshold) and ApiKeyExpired (once) for each key. */
import type { Context, ScheduledEvent } from 'aws-lambda';
import { scanExpiries } from '../services/lifecycle';
import { setting } from '../shared/config';
import { logger } from '../shared/logger';
import { traced } from '../shared/tracer';

async function handle(
  _event?: ScheduledEvent,
  context?: Context,
): Promise<{ expiring: number; expired: number; failed: number }> {
  if (context) logger.addContext(context);
  const result = await scanExpiries(new Date(), setting('expiryThresholdsDays'));
  const summary = {
    expiring: result.expiring.length,
    expired: result.expired.length,
    failed: result.failed.length,
  };
  logger.info('Expiry scan done', summary);
  // Failed alerts were released and are retried next run; failing the run makes the schedule's alarm see it.
  if (result.failed.length) throw new Error(`${result.failed.length} expiry alert(s) could not be sent`);
  return summary;
}

export const handler = traced(handle);
