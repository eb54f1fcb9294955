/** GET /v1/api-keys: newest first, filtered, paginated through an index (never a Scan). */
import { listKeys } from '../../services/api-keys';
import { json, route } from '../../shared/http';
import { listKeysQuery } from './schemas';

export const handler = route({ query: listKeysQuery }, async ({ query }) => {
  const { limit, next_token, ...filter } = query;
  return json(200, await listKeys(filter, limit, next_token));
});
