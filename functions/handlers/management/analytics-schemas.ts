/** Query schemas of the overview and export routes (docs/analytics.md). */
import { z } from 'zod';
import { MOST_USED_DAYS } from '../../services/overview';
import { listKeysQuery } from './schemas';

const DAY_MS = 86_400_000;
const tenantId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'must be 1-64 letters, digits, _ . -');

/** A UTC day from today back MOST_USED_DAYS days (per-key daily counts are not kept longer). */
const rankingDay = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a day like 2030-01-31')
  .refine((d) => !Number.isNaN(Date.parse(d)) && new Date(d).toISOString().slice(0, 10) === d, {
    message: 'is not a calendar day',
  })
  .refine(
    (d) => {
      const today = Date.parse(new Date().toISOString().slice(0, 10));
      return Date.parse(d) <= today && Date.parse(d) >= today - MOST_USED_DAYS * DAY_MS;
    },
    { message: `must be today or one of the ${MOST_USED_DAYS} days before (UTC)` },
  );

export const overviewQuery = z
  .object({ organization_id: tenantId.optional(), day: rankingDay.optional() })
  .strict();

/** At most this many keys per page: even with every field at its size limit a page stays under 5 MB. */
export const MAX_EXPORT_PAGE = 500;

export const exportQuery = listKeysQuery
  .extend({
    format: z.enum(['json', 'csv']).default('json'),
    limit: z.coerce.number().int().min(1).max(MAX_EXPORT_PAGE).default(MAX_EXPORT_PAGE),
  })
  .strict();
