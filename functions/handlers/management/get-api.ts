/**
 * GET /v1/apis/{api}: one registration (`default`: the built-in one). Registrations define scopes,
 * so any bound principal may read them, as the scope catalog (`scope:read`, docs/tenancy.md).
 */
import { authorize, withWarnings } from '../../services/access-control';
import { describeApi } from '../../services/api-registry';
import { json } from '../../shared/http';
import { apiParams } from './api-schemas';
import { managementRoute } from './kit';

export const handler = managementRoute({ params: apiParams }, async ({ params, actor }) => {
  const decision = await authorize(actor, 'scope:read');
  return json(200, withWarnings(await describeApi(params.api), decision));
});
