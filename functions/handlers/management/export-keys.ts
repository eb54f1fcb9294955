/**
 * GET /v1/api-keys/export?format=json|csv: the registry page by page (docs/analytics.md). JSON is
 * `{ items, next_token }`; CSV carries the next page's token in the `x-next-token` header (absent
 * on the last page).
 */
import { exportCsv, exportKeys } from '../../services/key-export';
import { json, route } from '../../shared/http';
import { exportQuery } from './analytics-schemas';

export const handler = route({ query: exportQuery }, async ({ query }) => {
  const { format, limit, next_token, ...filter } = query;
  const page = await exportKeys(filter, limit, next_token);
  if (format === 'json') return json(200, page);
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
