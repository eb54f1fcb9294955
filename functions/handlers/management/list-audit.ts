/** GET /v1/audit: the organization's audit feed, newest first, filtered, paginated through indexes. */
import { organizationAudit } from '../../services/audit';
import { json, route } from '../../shared/http';
import { listAuditQuery } from './audit-schemas';

export const handler = route({ query: listAuditQuery }, async ({ query }) => {
  const { limit, next_token, ...filter } = query;
  return json(200, await organizationAudit(filter, limit, next_token));
});
