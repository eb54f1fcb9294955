/** GET /v1/api-keys/{id}/usage: the current rate window of a key (docs/management-api.md). */

import { getMinuteCount, minuteWindow } from '../../repositories/counters-repository';
import { describeKey } from '../../services/api-keys';
import { json, route } from '../../shared/http';
import { keyIdParams } from './schemas';

export const handler = route({ params: keyIdParams }, async ({ params }) => {
  const key = await describeKey(params.id, false);
  const window = minuteWindow(new Date());
  const count = await getMinuteCount(key.id, window.start);
  return json(200, {
    key_id: key.id,
    window_start: window.start.toISOString(),
    request_count: count.allowed,
    rate_limit: key.rate_limit,
    remaining: key.rate_limit === null ? null : Math.max(key.rate_limit - count.allowed, 0),
    reset_at: window.end.toISOString(),
    totals: { allowed: count.allowed, denied: count.denied, last_used_at: key.last_used_at },
  });
});
