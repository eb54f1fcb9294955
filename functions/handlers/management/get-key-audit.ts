/** GET /v1/api-keys/{id}/audit: the key's audit history, newest first, paginated. */
import { keyAudit } from '../../services/audit';
import { json, route } from '../../shared/http';
import { keyIdParams, pageQuery } from './schemas';

export const handler = route({ params: keyIdParams, query: pageQuery }, async ({ params, query }) =>
  json(200, await keyAudit(params.id, query.limit, query.next_token)),
);
