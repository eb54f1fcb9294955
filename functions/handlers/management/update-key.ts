/** PATCH /v1/api-keys/{id}: change name, description, scopes, limits, expiry, enabled, metadata. */
import { changeKey } from '../../services/api-keys';
import { json, route } from '../../shared/http';
import { keyIdParams, updateKeyBody } from './schemas';

export const handler = route({ params: keyIdParams, body: updateKeyBody }, async ({ params, body, actor }) =>
  json(200, await changeKey(params.id, body, actor)),
);
