/** GET /v1/api-keys/{id}: one key with its decrypted metadata. */
import { describeKey } from '../../services/api-keys';
import { json, route } from '../../shared/http';
import { keyIdParams } from './schemas';

export const handler = route({ params: keyIdParams }, async ({ params }) =>
  json(200, await describeKey(params.id)),
);
