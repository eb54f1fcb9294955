/**
 * GET /v1/api-keys/export?format=json|csv: the registry page by page, limited to the caller's reach
 * as the list is (docs/analytics.md, docs/tenancy.md). JSON is `{ items, next_token }`; CSV carries
 * the next page's token in the `x-next-token` header (absent on the last page).
 */
import { authorizeListing, withWarnings } from '../../services/access-control';
import { exportCsv, exportKeys } from '../../services/key-export';
import { json } from '../../shared/http';
import { exportQuery } from './analytics-schemas';
import { managementRoute } from './kit';

export const handler = managementRoute({ query: exportQuery }, async ({ query, actor }) => {
  const { format, limit, next_token, ...filter } = query;
  const { reach, decision } = await authorizeListing(actor, filter);
  const page = await exportKeys({ ...filter, reach }, limit, next_token);
  if (format === 'json') return json(200, withWarnings(page, decision));
  return {
    statusCode: 200,
    headers: {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': 'attachment; filename="api-keys.csv"',
      'cache-control': 'no-store',
      ...(page.next_token ? { 'x-next-token': page.next_token } : {}),
    },
    body: exportCsv(page),
  };
});
