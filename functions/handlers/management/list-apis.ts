/** GET /v1/apis: the registered APIs by name, the built-in one first (through an index, never a Scan). */
import { listApis } from '../../services/api-registry';
import { json, route } from '../../shared/http';
import { pageQuery } from './schemas';

export const handler = route({ query: pageQuery }, async ({ query }) =>
  json(200, await listApis(query.limit, query.next_token)),
);
