/** GET /v1/api-keys: newest first, filtered, paginated through an index (never a Scan). */
import { listKeys } from '../../services/api-keys';
import { json, route } from '../../shared/http';
import { decodeNextToken, encodeNextToken } from '../../shared/pagination';
import { listKeysQuery } from './schemas';

export const handler = route({ query: listKeysQuery }, async ({ query }) => {
  const { limit, next_token, ...filter } = query;
  const page = await listKeys(filter, limit, decodeNextToken(next_token));
  return json(200, { items: page.items, next_token: encodeNextToken(page.lastKey) });
});
