/**
 * POST /v1/api-keys/{id}/rotate: new secret, same id; the previous one lives through the grace
 * period. Refused (409 `grace_period_open`) while an earlier grace is still open, unless the body
 * says `end_previous_grace` (docs/key-changes.md).
 */
import { rotateKeyWithUse } from '../../services/api-keys';
import { json, route } from '../../shared/http';
import { keyIdParams, rotateKeyBody } from './schemas';

export const handler = route(
  { params: keyIdParams, body: rotateKeyBody },
  async ({ params, body, actor }) => {
    const { key, record, previous_key_expires_at } = await rotateKeyWithUse(params.id, body, actor);
    return json(200, { ...record, key, previous_key_expires_at });
  },
);
