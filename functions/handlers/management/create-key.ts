/** POST /v1/api-keys: create a key; the token is in this response and nowhere else, ever. */
import { authorize, createResource, withWarnings } from '../../services/access-control';
import { createKey } from '../../services/api-keys';
import { json } from '../../shared/http';
import { managementRoute } from './kit';
import { createKeyBody } from './schemas';

export const handler = managementRoute({ body: createKeyBody }, async ({ body, actor }) => {
  const decision = await authorize(actor, 'api_key:create', createResource(body), { requireTenant: true });
  const { key, record } = await createKey(body, actor);
  return json(201, withWarnings({ ...record, key }, decision));
});
