/** GET /v1/api-keys/{id}: one key with its decrypted metadata. */
import { authorizeKey, withWarnings } from '../../services/access-control';
import { describeKey } from '../../services/api-keys';
import { json } from '../../shared/http';
import { managementRoute } from './kit';
import { keyIdParams } from './schemas';

export const handler = managementRoute({ params: keyIdParams }, async ({ params, actor }) => {
  const { decision } = await authorizeKey(actor, 'api_key:read', params.id);
  return json(200, withWarnings(await describeKey(params.id), decision));
});
