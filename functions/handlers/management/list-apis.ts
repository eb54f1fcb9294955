/**
 * GET /v1/apis: the registered APIs by name, the built-in one first (through an index, never a
 * Scan); readable by any bound principal, as the scope catalog (`scope:read`, docs/tenancy.md).
 */
import { authorize, withWarnings } from '../../services/access-control';
import { listApis } from '../../services/api-registry';
import { json } from '../../shared/http';
import { managementRoute } from './kit';
import { pageQuery } from './schemas';

export const handler = managementRoute({ query: pageQuery }, async ({ query, actor }) => {
  const decision = await authorize(actor, 'scope:read');
  return json(200, withWarnings(await listApis(query.limit, query.next_token), decision));
});
