/** GET /v1/api-keys/overview: the registry at a glance (docs/analytics.md). */
import { keyOverview } from '../../services/overview';
import { json, route } from '../../shared/http';
import { overviewQuery } from './analytics-schemas';

export const handler = route({ query: overviewQuery }, async ({ query }) =>
  json(200, await keyOverview(query)),
);
