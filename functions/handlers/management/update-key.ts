/** PATCH /v1/api-keys/{id}: change name, description, scopes, limits, expiry, enabled, metadata. */
import { authorizeKey, withWarnings } from '../../services/access-control';
import { changeKey } from '../../services/api-keys';
import { json } from '../../shared/http';
import { managementRoute } from './kit';
import { keyIdParams, updateKeyBody } from './schemas';

export const handler = managementRoute(
  { params: keyIdParams, body: updateKeyBody },
  async ({ params, body, actor }) => {
    const { decision } = await authorizeKey(actor, 'api_key:update', params.id, {
      scopes: body.scopes ?? [],
      ...(body.expires_at !== undefined ? { expires_at: body.expires_at } : {}),
    });
    return json(200, withWarnings(await changeKey(params.id, body, actor), decision));
  },
);
