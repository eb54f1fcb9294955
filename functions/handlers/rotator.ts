/** Scheduled: rotates keys whose rotation policy is due, delivering each new token to its destination. */
import { rotateDueKeys } from '../services/lifecycle';
import { logger } from '../shared/logger';

export const handler = async (): Promise<{ rotated: number; skipped: number; failed: number }> => {
  const result = await rotateDueKeys(new Date());
  const summary = {
    rotated: result.rotated.length,
    skipped: result.skipped.length,
    failed: result.failed.length,
  };
  logger.info('Scheduled rotation done', summary);
  // A failed delivery was undone and will be retried; surface it so the schedule's alarm sees it.
  if (result.failed.length) throw new Error(`${result.failed.length} rotation(s) could not be delivered`);
  return summary;
};
