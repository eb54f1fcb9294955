/** GET /v1/api-keys/{id}/usage: the current rate window of a key (docs/management-api.md). */
import { keyUsage } from '../../services/usage';
import { json, route } from '../../shared/http';
import { keyIdParams } from './schemas';

export const handler = route({ params: keyIdParams }, async ({ params }) =>
  json(200, await keyUsage(params.id)),
);
