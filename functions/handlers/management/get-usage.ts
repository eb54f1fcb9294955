/** GET /v1/api-keys/{id}/usage: the current rate window of a key (docs/management-api.md). */
import { authorizeKey, withWarnings } from '../../services/access-control';
import { keyUsage } from '../../services/usage';
import { json } from '../../shared/http';
import { managementRoute } from './kit';
import { keyIdParams } from './schemas';

export const handler = managementRoute({ params: keyIdParams }, async ({ params, actor }) => {
  const { decision } = await authorizeKey(actor, 'api_key:read', params.id);
  return json(200, withWarnings(await keyUsage(params.id), decision));
});
