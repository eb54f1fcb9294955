/** GET /v1/apis/{api}: one registration (`default`: the built-in one). */
import { describeApi } from '../../services/api-registry';
import { json, route } from '../../shared/http';
import { apiParams } from './api-schemas';

export const handler = route({ params: apiParams }, async ({ params }) =>
  json(200, await describeApi(params.api)),
);
