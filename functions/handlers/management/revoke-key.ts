/** DELETE /v1/api-keys/{id}: revoke, permanently; repeating it changes nothing. */
import { revokeKey } from '../../services/api-keys';
import { json, route } from '../../shared/http';
import { keyIdParams } from './schemas';

export const handler = route({ params: keyIdParams }, async ({ params, actor }) =>
  json(200, await revokeKey(params.id, actor)),
);
