/** GET /v1/api-keys/{id}/audit: the key's audit history (rotations included), newest first, paginated. */
import { authorizeKey, withWarnings } from '../../services/access-control';
import { keyAudit } from '../../services/audit';
import { json } from '../../shared/http';
import { managementRoute } from './kit';
import { keyIdParams, pageQuery } from './schemas';

export const handler = managementRoute(
  { params: keyIdParams, query: pageQuery },
  async ({ params, query, actor }) => {
    const { decision } = await authorizeKey(actor, 'audit:read', params.id);
    return json(200, withWarnings(await keyAudit(params.id, query.limit, query.next_token), decision));
  },
);
