/**
 * POST /v1/keys/verify: is this key allowed this route (or scope) of this API? The authorizer's
 * decision for services behind any front door, answered as `{ valid, code, ... }` (docs/authorizer.md).
 * A decision is always a 200; only a malformed request is refused.
 */
import { verifyKey } from '../../services/verify';
import { json } from '../../shared/http';
import { verifyBody } from './api-schemas';
import { managementRoute } from './kit';

// Any bound principal may verify (docs/tenancy.md: every /v1 caller is bound); which API's
// registration it may ask about is that registration's `accounts`, as for the authorizer.
export const handler = managementRoute({ body: verifyBody, validatesKeys: true }, async ({ body, event }) => {
  const identity = event.requestContext?.identity;
  const result = await verifyKey(body, {
    accountId: identity?.accountId ?? undefined,
    userAgent: identity?.userAgent ?? undefined,
    requestId: event.requestContext?.requestId,
  });
  return json(200, result);
});
