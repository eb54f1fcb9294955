/** GET /v1/api-keys: newest first, filtered to the caller's reach, paginated through an index (never a Scan). */
import { authorizeListing, withWarnings } from '../../services/access-control';
import { listKeys } from '../../services/api-keys';
import { json } from '../../shared/http';
import { managementRoute } from './kit';
import { listKeysQuery } from './schemas';

export const handler = managementRoute({ query: listKeysQuery }, async ({ query, actor }) => {
  const { limit, next_token, ...filter } = query;
  const { reach, decision } = await authorizeListing(actor, filter);
  return json(200, withWarnings(await listKeys({ ...filter, reach }, limit, next_token), decision));
});
