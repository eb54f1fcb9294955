/** DELETE /v1/api-keys/{id}: revoke, permanently; repeating it changes nothing. */
import { authorizeKey, withWarnings } from '../../services/access-control';
import { revokeKey } from '../../services/api-keys';
import { json } from '../../shared/http';
import { managementRoute } from './kit';
import { keyIdParams } from './schemas';

export const handler = managementRoute({ params: keyIdParams }, async ({ params, actor }) => {
  const { decision } = await authorizeKey(actor, 'api_key:revoke', params.id);
  return json(200, withWarnings(await revokeKey(params.id, actor), decision));
});
