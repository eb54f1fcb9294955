/** Query schemas of the audit routes (docs/management-api.md, docs/audit-and-events.md). */
import { z } from 'zod';
import { AUDIT_EVENT_NAMES } from '../../domain/audit';
import { KEY_ID_PATTERN } from '../../domain/token';
import { instant, pageQuery } from './schemas';

const tenantId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'must be 1-64 letters, digits, _ . -');

export const listAuditQuery = pageQuery
  .extend({
    organization_id: tenantId.default('default'),
    event_name: z.enum(AUDIT_EVENT_NAMES).optional(),
    key_id: z.string().regex(KEY_ID_PATTERN, 'is not a key id').optional(),
    actor: z.string().min(1).max(2048).optional(),
    // Normalised to `toISOString()` form, the form audit sort keys start with.
    from: instant.optional(),
    to: instant.optional(),
  })
  .strict()
  .refine((q) => !(q.from && q.to && q.from > q.to), { path: ['from'], message: 'must not be after to' });
