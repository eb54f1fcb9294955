/**
 * POST /v1/api-keys/{id}/rotate: new secret, same id; the previous one lives through the grace
 * period. Refused (409 `grace_period_open`) while an earlier grace is still open, unless the body
 * says `end_previous_grace` (docs/key-changes.md).
 */
import { authorizeKey, withWarnings } from '../../services/access-control';
import { rotateKeyWithUse } from '../../services/api-keys';
import { json } from '../../shared/http';
import { managementRoute } from './kit';
import { keyIdParams, rotateKeyBody } from './schemas';

export const handler = managementRoute(
  { params: keyIdParams, body: rotateKeyBody },
  async ({ params, body, actor }) => {
    const { decision } = await authorizeKey(actor, 'api_key:rotate', params.id);
    const { key, record, previous_key_expires_at } = await rotateKeyWithUse(params.id, body, actor);
    return json(200, withWarnings({ ...record, key, previous_key_expires_at }, decision));
  },
);
