/** POST /v1/api-keys: create a key; the token is in this response and nowhere else, ever. */
import { createKey } from '../../services/api-keys';
import { json, route } from '../../shared/http';
import { createKeyBody } from './schemas';

export const handler = route({ body: createKeyBody }, async ({ body, actor }) => {
  const { key, record } = await createKey(body, actor);
  return json(201, { ...record, key });
});
