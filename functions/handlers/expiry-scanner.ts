/** Scheduled: sends ApiKeyExpiring (once per threshold) and ApiKeyExpired (once) for each key. */
import { env } from '../../lib/declaration';
import { parseThresholds, scanExpiries } from '../services/lifecycle';
import { logger } from '../shared/logger';

export const handler = async (): Promise<{ expiring: number; expired: number }> => {
  const result = await scanExpiries(new Date(), parseThresholds(process.env[env.expiryThresholdsDays]));
  logger.info('Expiry scan done', { expiring: result.expiring.length, expired: result.expired.length });
  return { expiring: result.expiring.length, expired: result.expired.length };
};
