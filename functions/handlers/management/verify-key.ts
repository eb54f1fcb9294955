/**
 * POST /v1/keys/verify: is this key allowed this route (or scope) of this API? The authorizer's
 * decision for services behind any front door, answered as `{ valid, code, ... }` (docs/authorizer.md).
 * A decision is always a 200; only a malformed request is refused.
 */
import { verifyKey } from '../../services/verify';
import { json, route } from '../../shared/http';
import { verifyBody } from './api-schemas';

export const handler = route({ body: verifyBody, validatesKeys: true }, async ({ body, event }) => {
  const identity = event.requestContext?.identity;
  const result = await verifyKey(body, {
    accountId: identity?.accountId ?? undefined,
    userAgent: identity?.userAgent ?? undefined,
    requestId: event.requestContext?.requestId,
  });
  return json(200, result);
});
